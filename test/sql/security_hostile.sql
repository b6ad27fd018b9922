\set ECHO none
-- Hostile objects: an attacker shadows, in public, every pg_catalog function
-- and aggregate our code names and every operator on the types it uses, and
-- the session plants temp views named like catalogs in pg_temp.  Then every
-- function and job runs with search_path = pg_temp, public, pg_catalog.  A
-- shadow that is called raises a WARNING (it would show in this file's
-- output) and an error (the call's result would differ).  Commits as it
-- goes: the fold, views and retention run for real.
\set autocommit on
\i test/setup.psql
SELECT plan(4);

CREATE ROLE ua_sec_attacker;
CREATE ROLE ua_sec_app;
CREATE ROLE ua_sec_admin;
CREATE ROLE ua_sec_user;
GRANT CREATE ON SCHEMA public TO ua_sec_attacker;
SELECT analytics.grant_app_backend('ua_sec_app') \gset
SELECT analytics.grant_admin('ua_sec_admin') \gset
SELECT analytics.grant_end_user('ua_sec_user') \gset

-- Data for every path: thresholds about to be crossed, events waiting in
-- the default partition, a month past retention, feedback, reservations.
INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_token_limit, enforcement)
VALUES ('sec', 'sec', 12, 100000, 'hard');
SELECT analytics.subscribe('alice', 'sec', '2020-01-01', 'Europe/Paris') \gset
SELECT count(analytics.record_chat_event('alice', 'gpt-4o', input_tokens => 100 * i, output_tokens => i,
         response_time_ms => 10 * i, document_id => 'doc' || (i % 2), conversation_id => 'c' || (i % 3),
         category => 'chat', request_id => 'pre' || i))
  FROM generate_series(1, 8) i \gset
SELECT analytics.record_chat_event('alice', 'gpt-4o', input_tokens => 5, cost => 0.01, occurred_at => '2024-03-05 10:00+00',
         request_id => 'old') AS old_event \gset
-- An organization with an API key (its plaintext in a table every role reads).
INSERT INTO analytics.organizations (org_id, name, slug) VALUES ('acme', 'Acme', 'acme');
CREATE TABLE hostile_key AS SELECT * FROM analytics.create_api_key('acme', 'k', '{read}', rate_limit_per_minute => 100,
                                                                   expires_at => now() + interval '2 days',
                                                                   allowed_origins => '{https://a.example}', ip_allowlist => '{10.0.0.0/8}');
GRANT SELECT ON hostile_key TO PUBLIC;
SELECT analytics.fold() \gset
SELECT min(id) AS first_event, max(id) AS last_event FROM analytics.chat_events WHERE status = 'completed' \gset
SELECT (now() + interval '2 days')::text AS soon \gset

-- The attacker's shadows: each raises.
SET ROLE ua_sec_attacker;
\i test/hostile_objects.psql
RESET ROLE;
SELECT cmp_ok((SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
                  AND proowner = 'ua_sec_attacker'::regrole), '>', 400::bigint,
  'the attacker planted hundreds of shadows in public');

-- The session's own pg_temp: views named like the catalogs we read.
DO $$
DECLARE
  v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['pg_roles', 'pg_class', 'pg_inherits', 'pg_depend', 'pg_namespace', 'pg_proc',
                           'pg_extension', 'pg_settings', 'pg_index', 'pg_policy', 'pg_trigger'] LOOP
    EXECUTE format('CREATE TEMP VIEW %I AS SELECT * FROM pg_catalog.%I WHERE public.hostile(%L)', v, v, 'pg_temp.' || v);
  END LOOP;
END
$$;

-- Runs one statement as a role with the hostile search_path; returns 'ok'
-- or the SQLSTATE.  Its own expressions run with pg_catalog only.
CREATE FUNCTION pg_temp.run_hostile(who text, q text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  got text := 'ok';
BEGIN
  IF who <> 'superuser' THEN
    EXECUTE format('SET LOCAL ROLE %I', who);
  END IF;
  BEGIN
    SET LOCAL search_path = pg_temp, public, pg_catalog;
    EXECUTE q;
    SET LOCAL search_path = pg_catalog;
  EXCEPTION WHEN OTHERS THEN
    got := SQLSTATE;
  END;
  RESET ROLE;
  RETURN got;
END
$$;

CREATE TEMP TABLE battery (n serial, who text, q text, expect text DEFAULT 'ok', got text);
INSERT INTO battery (who, q, expect) VALUES
  ('ua_sec_app', $$SELECT analytics.record_chat_event('alice', 'gpt-4o', input_tokens => 900, output_tokens => 10, response_time_ms => 99, request_id => 'h1', document_id => 'doc1', conversation_id => 'c9', category => 'chat', metadata => '{"a": 1}')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.record_chat_event('alice', 'gpt-4o', input_tokens => 900, request_id => 'h1')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.record_chat_events('[{"user_id": "alice", "model": "gpt-4o-mini", "input_tokens": 3, "request_id": "h2"}]')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.record_chat_events('[{"user_id": "alice", "model": "no-such-model"}]')$$, '42704'),
  ('ua_sec_app', $$SELECT * FROM analytics.openai_usage('{"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 2}}')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.anthropic_usage('{"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 2}')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.start_request('alice', 'gpt-4o', 50, request_id => 'h3')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.complete_request(user_id => 'alice', request_id => 'h3', input_tokens => 40, output_tokens => 2)$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.start_request('alice', 'gpt-4o', 50, request_id => 'h4')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.start_request('alice', 'gpt-4o', 1000000, request_id => 'h5')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.check_quota('alice', 10)$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.subscribe('bob', 'pro', '2020-01-01', 'Asia/Tokyo')$$, 'ok'),
  ('ua_sec_app', format($$SELECT analytics.record_feedback(%s, 4, 'fine')$$, :first_event), 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.list_notifications('alice')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.acknowledge_notifications(ARRAY[1, 2]::bigint[])$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.user_dashboard('alice')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.get_user_request_history('alice', 5, 0)$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.get_user_request_history_before('alice', '2100-01-01', 1, 5)$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.get_user_token_breakdown('alice')$$, 'ok'),
  ('ua_sec_app', format($$SELECT analytics.correct_event(%s, 'audit', input_tokens => 7)$$, :first_event), 'ok'),
  ('ua_sec_app', format($$SELECT analytics.void_event(%s, 'refund')$$, :last_event), 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.check_quota('alice')$$, 'ok'),
  ('ua_sec_user', $$SELECT analytics.user_dashboard()$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.get_user_request_history()$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.get_user_token_breakdown()$$, 'ok'),
  ('ua_sec_user', format($$SELECT analytics.record_feedback(%s, 5)$$, :last_event), 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.user_daily_usage$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.user_monthly_usage$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.v_user_current_month$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.user_monthly_summary$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.user_request_analytics$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.v_user_recent_activity$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.chat_events$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.event_corrections$$, 'ok'),
  ('ua_sec_user', $$SELECT analytics.quantiles(latency, ARRAY[0.5, 0.99]) FROM analytics.rollup_user_daily$$, 'ok'),
  ('ua_sec_user', $$SELECT analytics.quantile(analytics.latency_sketch_merge(latency), 0.5) FROM analytics.rollup_user_monthly$$, 'ok'),
  ('ua_sec_user', $$SELECT analytics.sketch_count(analytics.latency_sketch_agg(x)) FROM (VALUES (1.0::float8), (2.0)) v(x)$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.create_api_key('acme', 'h', '{read}', 'test', '2100-01-01 00:00+00', 10, 5, '{https://a.example}', '{10.0.0.0/8}')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.authenticate_api_key((SELECT api_key FROM hostile_key), 'https://A.example', '10.1.1.1', 'read')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.authorize_api_request((SELECT api_key FROM hostile_key), 'https://a.example', '10.1.1.1', 'read')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.authorize_api_request((SELECT api_key FROM hostile_key), 'https://a.example', '11.1.1.1', 'read')$$, '42U02'),
  ('ua_sec_app', $$SELECT * FROM analytics.authenticate_api_key('ua_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')$$, '28000'),
  ('ua_sec_app', $$SELECT * FROM analytics.rotate_api_key('acme', (SELECT key_id FROM hostile_key))$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.revoke_api_key('acme', (SELECT key_id FROM hostile_key))$$, 'ok'),
  ('ua_sec_admin', $$SELECT * FROM analytics.api_keys$$, '42501'),
  ('ua_sec_admin', $$SELECT key_prefix, last_used_at FROM analytics.api_keys$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.api_key_counters$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.evaluate_alerts()$$, 'ok'),
  ('ua_sec_admin', $$SELECT * FROM analytics.document_usage$$, 'ok'),
  ('ua_sec_admin', $$SELECT * FROM analytics.system_daily_metrics$$, 'ok'),
  ('ua_sec_admin', $$SELECT * FROM analytics.mv_user_monthly_summary$$, 'ok'),
  ('ua_sec_admin', $$SELECT * FROM analytics.mv_document_popularity$$, 'ok'),
  ('ua_sec_admin', $$SELECT * FROM analytics.jobs$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.fold()$$, 'ok'),
  ('ua_sec_admin', $$SELECT * FROM analytics.verify_rollups()$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.rebuild_rollups('2020-01-01', '2100-01-01')$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.refresh_all_views()$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.ensure_partitions(1)$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.expire_reservations()$$, 'ok'),
  ('superuser', $$SELECT analytics.apply_retention()$$, 'ok'),
  ('superuser', $$SELECT * FROM analytics.schedule_jobs()$$, '55000'),
  ('superuser', $$SELECT analytics.unschedule_jobs()$$, '55000'),
  ('superuser', $$SELECT analytics.grant_end_user('ua_sec_attacker')$$, 'ok'),
  ('superuser', $$SELECT analytics.revoke_access('ua_sec_attacker', 'end_user')$$, 'ok'),
  ('superuser', $$SELECT * FROM analytics.verify_rollups()$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => 0.5::float8, response_time_ms => 12.5::float8, time_to_first_token_ms => 3)$$, 'ok'),
  ('superuser', $$SELECT analytics.grant_act_as('ua_sec_app', 'ua_sec_user')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.act_as('alice', 'ua_sec_user')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.create_widget('acme', 'hw', 'map', 'H', '{Example.com}', '{"a": 1}')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.update_widget('acme', 'hw', name => 'H2', allowed_domains => '{*.example.com}')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.record_api_request('acme', '/v1/x', 'get', 200, 12.5, widget_id => 'hw', billable_units => 1, api_key_id => 1, country_code => 'no', metadata => '{"a": 1}', request_id => 'ha1', user_id => 'alice', ip_address => '192.0.2.1', user_agent => 'ua', origin => 'https://example.com')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, request_id => 'ha1')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 999)$$, '22023'),
  ('ua_sec_app', $$SELECT * FROM analytics.api_daily_summary$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.api_endpoint_latency('acme')$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.api_daily_usage$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.api_requests$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.fold()$$, 'ok'),
  ('ua_sec_admin', $$SELECT * FROM analytics.widget_daily_usage$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.rebuild_rollups(current_date, current_date)$$, 'ok'),
  -- Organizations (1.1): management, organization plans, reads.
  ('ua_sec_app', $$SELECT analytics.create_organization('secorg', 'Sec Org', time_zone => 'Europe/Paris', owner_id => 'bob')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.update_organization('secorg', billing_email => 'b@sec.example', tax_rate => 0.2)$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.add_member('secorg', 'alice', 'admin', monthly_request_cap => 100)$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.add_member('secorg', 'carol', 'viewer')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.update_member('secorg', 'carol', 'member', remove_caps => true)$$, 'ok'),
  ('ua_sec_app', format($$SELECT analytics.subscribe(NULL, 'sec', '2020-01-01', ends_at => %L, org_id => 'secorg')$$, :'soon'), 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.start_request('alice', 'gpt-4o', 50, request_id => 'o1', org_id => 'secorg')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.complete_request(user_id => 'alice', request_id => 'o1', input_tokens => 40)$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.record_chat_event('carol', 'gpt-4o', input_tokens => 9, org_id => 'secorg')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.check_quota('alice', 10, NULL, org_id => 'secorg')$$, 'ok'),
  ('ua_sec_app', $$SELECT * FROM analytics.start_request('zed', 'gpt-4o', 5, org_id => 'secorg')$$, '42501'),
  ('ua_sec_app', $$SELECT analytics.remove_member('secorg', 'carol')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.suspend_organization('secorg')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.reactivate_organization('secorg')$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.org_daily_usage$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.org_monthly_usage$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.org_dashboard('secorg')$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.org_usage_counters$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.org_members$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.organizations$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.org_subject_at('secorg', pg_catalog.now())$$, 'ok'),
  ('ua_sec_user', $$SELECT analytics.identity_org_ids()$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.check_quota('alice', 0, NULL, org_id => 'secorg')$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.evaluate_alerts()$$, 'ok'),
  ('ua_sec_admin', $$SELECT * FROM analytics.verify_rollups()$$, 'ok'),
  -- Billing export, outbox, reports, warnings, credits (1.1).
  ('ua_sec_app', $$SELECT analytics.grant_credits('secorg', 5, expires_at => '2100-01-01', priority => 3)$$, 'ok'),
  ('ua_sec_admin', $$SELECT analytics.evaluate_billing_warnings()$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.invoice_json(999999)$$, '42704'),
  ('ua_sec_app', $$SELECT * FROM analytics.claim_billing_outbox(10, '1 minute', 'h')$$, 'ok'),
  ('ua_sec_app', $$SELECT analytics.ack_billing_outbox('{1}')$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.billing_mrr$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.mrr()$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.revenue_by_plan_month$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.overdue_invoices$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.customer_lifetime_value$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.top_subjects_by_cost('2020-01-01', '2100-01-01')$$, 'ok'),
  ('ua_sec_user', $$SELECT * FROM analytics.credit_balance('secorg')$$, 'ok');
-- One transaction each, like an application's calls.
SET usage_analytics.user_id = 'alice';
SELECT format('UPDATE battery SET got = pg_temp.run_hostile(who, q) WHERE n = %s', n) FROM battery ORDER BY n \gexec
RESET usage_analytics.user_id;
DO $$
DECLARE
  v text;
BEGIN
  FOR v IN SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relkind = 'v' LOOP
    EXECUTE format('DROP VIEW pg_temp.%I', v);
  END LOOP;
END
$$;

SELECT is_empty($$SELECT n, who, q, expect, got FROM battery WHERE got IS DISTINCT FROM expect$$,
  'every function, view and job runs without calling a hostile object, and answers as expected');
SELECT is((SELECT count(*) FROM battery), 117::bigint, 'the battery covers 117 calls');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'and the rollups still equal the raw log');

SELECT * FROM finish();
DROP TABLE hostile_key;
DROP EXTENSION usage_analytics;
DROP OWNED BY ua_sec_attacker, ua_sec_app, ua_sec_admin, ua_sec_user;
DROP ROLE ua_sec_attacker, ua_sec_app, ua_sec_admin, ua_sec_user;
