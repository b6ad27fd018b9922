\set ECHO none
\i test/setup.psql
SELECT plan(19);

SELECT has_schema('analytics');
SELECT tables_are('analytics', ARRAY['chat_events', 'chat_events_default',
  'model_prices', 'plans', 'subscriptions', 'request_keys', 'usage_counters', 'role_bindings',
  'fold_state', 'fold_shard_state', 'identity_keys', 'rollup_user_daily', 'rollup_user_monthly', 'rollup_user_models', 'rollup_user_categories', 'rollup_documents',
  'rollup_system_models', 'rollup_distinct', 'notifications', 'access_list', 'event_corrections', 'model_aliases',
  'alert_rules', 'provider_limits', 'provider_counters',
  'rollup_user_labels', 'rollup_system_labels', 'rollup_conversations', 'rollup_document_sections',
  'organizations', 'org_members', 'org_usage_counters', 'rollup_org_daily', 'api_keys', 'api_key_counters', 'api_key_rate_limited',
  'widgets', 'api_requests', 'api_requests_default', 'api_request_keys', 'rollup_api_daily', 'rollup_widget_daily',
  'currencies', 'meters', 'plan_charges', 'plan_charge_tiers', 'credit_grants', 'invoices', 'invoice_lines',
  'invoice_number_counters', 'credit_consumptions', 'billing_outbox',
  'mv_user_monthly_summary', 'mv_document_popularity', 'summary_refresh', 'summary_changes'],
  'the raw log, its default partition and the data tables: no monthly partition is an extension member');
SELECT views_are('analytics', ARRAY['user_daily_usage', 'user_monthly_usage', 'v_user_current_month',
  'document_usage', 'system_daily_metrics', 'user_monthly_summary', 'user_request_analytics',
  'v_user_recent_activity', 'jobs', 'fold_lag', 'job_failures', 'user_monthly_model_usage',
  'model_monthly_usage', 'users_by_plan', 'conversation_usage', 'api_daily_usage', 'api_daily_summary',
  'widget_daily_usage', 'org_daily_usage', 'org_monthly_usage', 'billing_mrr', 'revenue_by_plan_month',
  'overdue_invoices', 'customer_lifetime_value', 'user_monthly_summary_source', 'document_popularity_source']);
SELECT materialized_views_are('analytics', ARRAY[]::name[],
  'no materialized view: the seed''s are summary tables refreshed row by row');
SELECT is_empty($$
  SELECT t FROM unnest(ARRAY['mv_user_monthly_summary', 'mv_document_popularity']) t
   WHERE NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = ('analytics.' || t)::regclass AND i.indisunique)
$$, 'every summary table has a unique index (on its key, for the row-by-row refresh)');
SELECT is((SELECT relkind::text FROM pg_class WHERE oid = 'analytics.chat_events'::regclass), 'p',
  'chat_events is partitioned');
SELECT is((SELECT pg_get_partkeydef('analytics.chat_events'::regclass)), 'RANGE (occurred_at)',
  'partitioned by event time');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'usage_analytics'), false,
  'not relocatable');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'analytics'::regnamespace AND p.prosecdef
     AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=pg_catalog, pg_temp')
$$, 'every SECURITY DEFINER function pins search_path');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
   WHERE p.pronamespace = 'analytics'::regnamespace AND l.lanname NOT IN ('c', 'internal')
     AND p.prosqlbody IS NULL
     AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=pg_catalog, pg_temp')
$$, 'no function body resolves names through the caller''s search_path (pinned, or a BEGIN ATOMIC body)');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'analytics'::regnamespace
     AND has_function_privilege('public', p.oid, 'EXECUTE')
$$, 'no function is executable by PUBLIC');
SELECT is_empty($$
  SELECT c.relname FROM pg_class c
   WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
     AND (has_table_privilege('public', c.oid, 'SELECT') OR has_table_privilege('public', c.oid, 'INSERT'))
$$, 'no relation is readable or writable by PUBLIC');
SELECT is_empty($$
  SELECT c.relname FROM pg_class c
   WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'p')
     -- Shared configuration, readable or writable by admins only where per-user.
     AND NOT c.relrowsecurity AND c.relname NOT IN ('plans', 'model_prices', 'model_aliases', 'alert_rules', 'provider_limits')
     AND NOT c.relispartition
$$, 'RLS is on for every table holding per-user or internal rows');
SELECT is_empty($$
  SELECT format('%s %s', c.relname, p.polname) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
   WHERE c.relnamespace = 'analytics'::regnamespace AND p.polcmd <> 'r'
$$, 'no write policy at all: end users cannot insert or alter usage');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'analytics'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
  UNION ALL
  SELECT c.relname FROM pg_class c
   WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'p', 'v')
     AND NOT c.relispartition AND obj_description(c.oid, 'pg_class') IS NULL
$$, 'every function, table and view has a comment');
SELECT ok((SELECT count(*) FROM pg_extension e, unnest(e.extconfig) c
            WHERE e.extname = 'usage_analytics') >= 7,
  'data tables and sequences are registered with pg_extension_config_dump');
SELECT is(current_setting('usage_analytics.default_plan'), 'free', 'default plan is free');
SELECT set_eq('SELECT plan_id FROM analytics.plans', ARRAY['free', 'pro', 'enterprise'],
  'example plans');
SELECT ok((SELECT count(*) FROM analytics.model_prices) >= 5, 'example prices');

SELECT * FROM finish();
ROLLBACK;

-- Installing over a schema an attacker pre-created, with objects named like
-- ours, fails and runs none of them (each would raise a WARNING here).
BEGIN;
CREATE ROLE ua_inst_attacker;
SELECT format('GRANT CREATE ON DATABASE %I TO ua_inst_attacker', current_database()) \gexec
SET ROLE ua_inst_attacker;
CREATE SCHEMA analytics;
CREATE FUNCTION analytics.planted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE WARNING 'attacker code ran'; RETURN NULL; END $$;
CREATE FUNCTION analytics.current_user_id() RETURNS text LANGUAGE plpgsql AS $$
BEGIN RAISE WARNING 'attacker code ran'; RETURN 'attacker'; END $$;
CREATE FUNCTION analytics.fold_watermark() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN RAISE WARNING 'attacker code ran'; RETURN 0; END $$;
CREATE TABLE analytics.chat_events (id bigint);
CREATE TRIGGER planted BEFORE INSERT ON analytics.chat_events FOR EACH ROW EXECUTE FUNCTION analytics.planted();
RESET ROLE;
SELECT plan(2);
SELECT throws_ok('CREATE EXTENSION usage_analytics', '42P06', NULL,
  'CREATE EXTENSION fails when a schema analytics already exists');
SELECT is((SELECT count(*) FROM pg_extension WHERE extname = 'usage_analytics'), 0::bigint, 'and installs nothing');
SELECT * FROM finish();
ROLLBACK;

-- Shadows of every function and operator we use, planted in public, with
-- public first in the installer's search_path: none is called.
BEGIN;
CREATE ROLE ua_inst_attacker;
GRANT CREATE ON SCHEMA public TO ua_inst_attacker;
SET ROLE ua_inst_attacker;
\i test/hostile_objects.psql
RESET ROLE;
SET LOCAL search_path = public, pg_catalog;
CREATE EXTENSION usage_analytics;
RESET search_path;
SELECT plan(1);
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'usage_analytics'), '1.1',
  'the extension installs and updates past hostile shadows in public without calling one');
SELECT * FROM finish();
ROLLBACK;
