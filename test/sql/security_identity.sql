\set ECHO none
-- Identity switches and what errors say: prepared statements with generic
-- plans, across SET ROLE and identity switches, never return another
-- identity's rows, and no error an end user can provoke shows another
-- user's data.
\i test/setup.psql
SELECT plan(33);

CREATE ROLE ua_id_user;
CREATE ROLE ua_id_other;
CREATE ROLE ua_id_app;
SELECT analytics.grant_end_user('ua_id_user') \gset
SELECT analytics.grant_end_user('ua_id_other') \gset
SELECT analytics.grant_app_backend('ua_id_app') \gset
GRANT ua_id_user, ua_id_other TO ua_id_app;

-- bob's data carries markers that no error may ever show alice.
SELECT analytics.record_chat_event('alice', 'gpt-4o', input_tokens => 1, request_id => 'alice-1') AS alice_event \gset
SELECT analytics.record_chat_event('bob', 'secret-model-b', provider => 'openai', input_tokens => 777777,
         cost => 9.8765, document_id => 'doc-b-secret', request_id => 'bob-secret-req') AS bob_event \gset
SELECT analytics.subscribe('bob', 'pro') > 0 AS bob_on_pro \gset
SELECT event_id AS bob_pending FROM analytics.start_request('bob', 'gpt-4o', 5, request_id => 'bob-secret-pending') \gset

-- API keys of two organizations; alice owns acme, bob is a member of it.
INSERT INTO analytics.organizations (org_id, name, slug) VALUES ('acme', 'Acme', 'acme'), ('other', 'Other', 'other');
INSERT INTO analytics.org_members (org_id, user_id, role) VALUES ('acme', 'alice', 'owner'), ('acme', 'bob', 'member');
SELECT count(*) AS keys FROM unnest(ARRAY['acme', 'other']) o, LATERAL analytics.create_api_key(o, 'k') k \gset

-- The application's pooled connection: one login, many identities.
SET ROLE ua_id_app;
SET plan_cache_mode = force_generic_plan;
PREPARE events AS SELECT COALESCE(string_agg(DISTINCT user_id, ',' ORDER BY user_id), '') AS users FROM analytics.chat_events;
PREPARE counters AS SELECT string_agg(DISTINCT user_id, ',' ORDER BY user_id) AS users FROM analytics.usage_counters;
PREPARE monthly AS SELECT string_agg(DISTINCT user_id, ',' ORDER BY user_id) AS users FROM analytics.user_monthly_usage;
PREPARE history AS SELECT string_agg(DISTINCT model, ',') AS users FROM analytics.get_user_request_history(analytics.current_user_id(), 10, 0);
PREPARE keys AS SELECT COALESCE(string_agg(DISTINCT org_id, ',' ORDER BY org_id), '') AS orgs FROM analytics.api_keys;

-- alice as end user.
SET usage_analytics.user_id = 'alice';
SET ROLE ua_id_user;
EXECUTE events \gset e1_
EXECUTE counters \gset c1_
EXECUTE monthly \gset m1_
EXECUTE history \gset h1_
EXECUTE keys \gset k1_
-- bob, same role, same prepared statements.
SET ROLE ua_id_app;
SET usage_analytics.user_id = 'bob';
SET ROLE ua_id_user;
EXECUTE events \gset e2_
EXECUTE counters \gset c2_
EXECUTE history \gset h2_
EXECUTE keys \gset k2_
-- The app itself (all rows), then another end-user role acting for alice:
-- the all-rows execution must not leak into the next one.
SET ROLE ua_id_app;
EXECUTE events \gset e3_
EXECUTE keys \gset k3_
SET usage_analytics.user_id = 'alice';
SET ROLE ua_id_other;
EXECUTE events \gset e4_
EXECUTE monthly \gset m4_
-- No identity at all.
SET ROLE ua_id_app;
RESET usage_analytics.user_id;
SET ROLE ua_id_user;
EXECUTE events \gset e5_
RESET ROLE;
RESET plan_cache_mode;

SELECT is(:'e1_users'::text, 'alice', 'generic plan, alice: her events');
SELECT is(:'c1_users'::text, 'alice', 'generic plan, alice: her counters');
SELECT is(:'m1_users'::text, 'alice', 'generic plan, alice: her monthly usage');
SELECT is(:'h1_users'::text, 'gpt-4o', 'generic plan, alice: her history');
SELECT is(:'e2_users'::text, 'bob', 'same statement, identity switched to bob: his events only');
SELECT is(:'c2_users'::text, 'bob', 'his counters only');
SELECT is(:'h2_users'::text, 'gpt-4o,secret-model-b', 'his history only');
SELECT is(:'e3_users'::text, 'alice,bob', 'the app backend reads all rows');
SELECT is(:'e4_users'::text, 'alice', 'then another end-user role for alice: her events only');
SELECT is(:'m4_users'::text, 'alice', 'and her monthly usage only');
SELECT is(:'e5_users'::text, '', 'no identity: no rows');
SELECT is(:'k1_orgs'::text, 'acme', 'generic plan, alice (owner of acme): acme''s API keys');
SELECT is(:'k2_orgs'::text, '', 'identity switched to bob (a member): no API key');
SELECT is(:'k3_orgs'::text, 'acme,other', 'the app backend reads every organization''s keys');

-- Errors alice can provoke about bob's data.
SET usage_analytics.user_id = 'alice';
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  st text; msg text; det text; hnt text;
BEGIN
  SET LOCAL ROLE ua_id_user;
  BEGIN
    EXECUTE q;
    st := 'no error';
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                            hnt = PG_EXCEPTION_HINT;
  END;
  RESET ROLE;
  RETURN concat_ws(' | ', st, msg, det, hnt);
END
$$;
CREATE TEMP TABLE provoked AS
SELECT q, pg_temp.error_of(q) AS answer FROM (VALUES
  (format('SELECT analytics.record_feedback(%s, 1)', :bob_event)),
  ($$SELECT * FROM analytics.check_quota('bob')$$),
  ($$SELECT analytics.user_dashboard('bob')$$),
  ($$SELECT * FROM analytics.get_user_request_history('bob', 10, 0)$$),
  ($$SELECT * FROM analytics.get_user_token_breakdown('bob')$$),
  (format('SELECT * FROM analytics.complete_request(%s, input_tokens => 1)', :bob_pending)),
  (format('SELECT analytics.void_event(%s, %L)', :bob_event, 'x')),
  ($$SELECT * FROM analytics.list_notifications('bob')$$),
  ($$SELECT count(*) FROM analytics.chat_events WHERE user_id = 'bob' AND 1 / (input_tokens - 777777) = 0$$),
  ($$SELECT count(*) FROM analytics.chat_events WHERE user_id = 'bob' AND model::int = 0$$)) AS v(q);
RESET usage_analytics.user_id;

SELECT is((SELECT answer FROM provoked WHERE q LIKE '%record_feedback%'),
  format('42704 | event %s does not exist |  | End users may rate only their own events.', :bob_event),
  'rating bob''s event: the same answer as for an event that does not exist');
SELECT is((SELECT split_part(answer, ' | ', 1) FROM provoked WHERE q LIKE '%check_quota%'), '42501', 'bob''s quota: refused');
SELECT is((SELECT split_part(answer, ' | ', 1) FROM provoked WHERE q LIKE '%complete_request%'), '42501', 'settling bob''s request: refused');
SELECT is((SELECT split_part(answer, ' | ', 1) FROM provoked WHERE q LIKE '%void_event%'), '42501', 'voiding bob''s event: refused');
SELECT is((SELECT split_part(answer, ' | ', 1) FROM provoked WHERE q LIKE '%1 / (input_tokens%'), 'no error',
  'RLS filters before a user''s own predicate can divide by bob''s tokens');
SELECT is((SELECT split_part(answer, ' | ', 1) FROM provoked WHERE q LIKE '%model::int%'), 'no error',
  'nor cast bob''s model name into an error message');
SELECT is_empty($$SELECT q, answer FROM provoked
                   WHERE answer ~ '(secret|777777|9\.8765|doc-b)'$$,
  'no answer shows bob''s model, tokens, cost, document or request ids');
SELECT is((SELECT count(*) FROM provoked), 10::bigint, 'ten provocations');
SET usage_analytics.user_id = 'alice';
SELECT is(pg_temp.as_role('ua_id_user', $$SELECT count(*) FROM analytics.get_user_request_history('bob', 10, 0)$$), '0',
  'bob''s history asked for by alice: empty');
SELECT is(pg_temp.as_role('ua_id_user', $$SELECT count(*) FROM analytics.get_user_token_breakdown('bob')$$), '0',
  'bob''s token breakdown: empty');
SELECT is(pg_temp.as_role('ua_id_user', $$SELECT count(*) FROM analytics.list_notifications('bob')$$), '0',
  'bob''s notifications: empty');
RESET usage_analytics.user_id;

-- API metering across identity switches, generic plans: an owner of acme,
-- then a member of acme, then the app itself.
INSERT INTO analytics.organizations (org_id, name, slug) VALUES ('globex', 'Globex', 'globex');
INSERT INTO analytics.org_members (org_id, user_id, role) VALUES ('acme', 'olivia', 'owner'), ('acme', 'mia', 'member');
SELECT count(analytics.record_api_request(o, '/v1/x', 'GET', 200, 5, user_id => u))
  FROM (VALUES ('acme', 'mia'), ('globex', 'gina')) v(o, u) \gset
SET ROLE ua_id_app;
SET plan_cache_mode = force_generic_plan;
PREPARE api_orgs AS SELECT COALESCE(string_agg(DISTINCT org_id, ',' ORDER BY org_id), '') AS orgs FROM analytics.api_daily_summary;
PREPARE api_rows AS SELECT COALESCE(string_agg(DISTINCT org_id || ':' || COALESCE(user_id, ''), ',' ORDER BY org_id || ':' || COALESCE(user_id, '')), '') AS orgs
  FROM analytics.api_requests;
SET usage_analytics.user_id = 'olivia';
SET ROLE ua_id_user;
EXECUTE api_orgs \gset a1_
EXECUTE api_rows \gset r1_
SET ROLE ua_id_app;
SET usage_analytics.user_id = 'mia';
SET ROLE ua_id_user;
EXECUTE api_orgs \gset a2_
EXECUTE api_rows \gset r2_
SET ROLE ua_id_app;
RESET usage_analytics.user_id;
EXECUTE api_orgs \gset a3_
RESET ROLE;
RESET plan_cache_mode;
SELECT is(:'a1_orgs'::text, 'acme', 'generic plan, an owner of acme: acme''s API summary');
SELECT is(:'r1_orgs'::text, 'acme:mia', 'and acme''s API requests');
SELECT is(:'a2_orgs'::text || '/' || :'r2_orgs', 'acme/acme:mia', 'identity switched to a member: the organization''s totals, her own requests');
SELECT is(:'a3_orgs'::text, 'acme,globex', 'the app backend: every organization');

-- Every answer, for the record.
SELECT q, answer FROM provoked ORDER BY q;

-- Organizations (1.1): generic plans of an organization's rows follow the
-- identity's memberships (identity_org_ids is evaluated at each execution).
SELECT analytics.create_organization('orgb', 'Org B', owner_id => 'bob') AS orgb \gset
SELECT analytics.record_chat_event('bob', 'gpt-4o', input_tokens => 3, org_id => 'orgb') AS bob_org_event \gset
SET ROLE ua_id_app;
SET plan_cache_mode = force_generic_plan;
PREPARE org_rows AS SELECT COALESCE(string_agg(DISTINCT org_id || ':' || user_id, ',' ORDER BY org_id || ':' || user_id), '') AS r
  FROM analytics.org_usage_counters;
PREPARE org_events AS SELECT count(*) AS r FROM analytics.chat_events WHERE org_id = 'orgb' AND user_id <> 'alice';
SET usage_analytics.user_id = 'bob';
SET ROLE ua_id_user;
EXECUTE org_rows \gset o1_
EXECUTE org_events \gset oe1_
SET ROLE ua_id_app;
SELECT analytics.add_member('orgb', 'alice', 'viewer') \gset
SET usage_analytics.user_id = 'alice';
SET ROLE ua_id_user;
EXECUTE org_rows \gset o2_
EXECUTE org_events \gset oe2_
RESET ROLE;
RESET plan_cache_mode;
RESET usage_analytics.user_id;
SELECT is(:'o1_r'::text, 'orgb:,orgb:bob', 'the owner reads the organization''s counters, generic plan');
SELECT is(:'oe1_r'::int, 1, 'and its events');
SELECT is(:'o2_r'::text, 'orgb:', 'the same plan for a viewer of it: the totals only');
SELECT is(:'oe2_r'::int, 0, 'and none of its events');

SELECT * FROM finish();
ROLLBACK;
