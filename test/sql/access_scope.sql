\set ECHO none
\i test/setup.psql
SELECT plan(19);

CREATE ROLE ua_sc_user;
CREATE ROLE ua_sc_admin;
CREATE ROLE ua_sc_org_admin;
CREATE ROLE ua_sc_app;
SELECT analytics.grant_end_user('ua_sc_user') \gset
SELECT analytics.grant_admin('ua_sc_admin') \gset
SELECT analytics.grant_admin('ua_sc_org_admin', 'acme') \gset
SELECT analytics.grant_app_backend('ua_sc_app') \gset
SELECT count(analytics.record_chat_event(u, 'gpt-4o', input_tokens => 10, org_id => o))
  FROM (VALUES ('bob', 'acme'), ('carol', 'other')) v(u, o) \gset

-- An organization-scoped admin edits nothing every tenant shares.
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$UPDATE analytics.plans SET monthly_request_limit = 1 RETURNING 'x'$$),
  'ERROR 42501', 'org admin: no UPDATE of plans');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$DELETE FROM analytics.model_prices RETURNING 'x'$$),
  'ERROR 42501', 'org admin: no DELETE of prices');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$INSERT INTO analytics.plans (plan_id, name) VALUES ('evil', 'Evil') RETURNING 'x'$$),
  'ERROR 42501', 'org admin: no new plans');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$SELECT analytics.subscribe('carol', 'enterprise')::text$$),
  'ERROR 42501', 'org admin: no subscriptions for anyone');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$SELECT analytics.void_event(1, 'x')::text$$),
  'ERROR 42501', 'org admin: no voiding of events');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$SELECT analytics.apply_retention()::text$$),
  'ERROR 42501', 'org admin: no retention run');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$SELECT analytics.acknowledge_notifications('{1}')::text$$),
  'ERROR 42501', 'org admin: no acknowledging other tenants'' notifications');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$INSERT INTO analytics.model_aliases (alias, provider, model) VALUES ('x', 'openai', 'gpt-4o') RETURNING 'x'$$),
  'ERROR 42501', 'org admin: no model aliases');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$SELECT analytics.import_litellm_prices('{}')::text$$),
  'ERROR 42501', 'org admin: no price catalog import');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.chat_events$$),
  'bob', 'org admin still reads its organization''s events');
-- An all-rows admin still manages plans.
SELECT is(pg_temp.as_role('ua_sc_admin', $$UPDATE analytics.plans SET monthly_request_limit = monthly_request_limit WHERE plan_id = 'pro' RETURNING 'ok'$$),
  'ok', 'an all-rows admin updates plans');

-- Nobody learns another role's access: the functions that took any role
-- are gone, the ones left answer for the caller.
SELECT is(to_regprocedure('analytics.role_has_kind(name, text[])'), NULL, 'role_has_kind(role, kinds) is gone');
SELECT is(to_regprocedure('analytics.role_admin_orgs(name)'), NULL, 'role_admin_orgs(role) is gone');
SELECT is(pg_temp.as_role('ua_sc_user', $$SELECT analytics.sees_all_rows()::text$$), 'false', 'an end user: sees_all_rows() is false');
SELECT is(pg_temp.as_role('ua_sc_app', $$SELECT analytics.sees_all_rows()::text$$), 'true', 'the app backend: true');
SELECT is(pg_temp.as_role('ua_sc_user', $$SELECT analytics.admin_org_ids()::text$$), '{}', 'an end user administers no organization');
SELECT is(pg_temp.as_role('ua_sc_org_admin', $$SELECT analytics.admin_org_ids()::text$$), '{acme}', 'the org admin: its own');
SELECT is(pg_temp.as_role('ua_sc_user', $$SELECT count(*)::text FROM analytics.role_bindings$$), 'ERROR 42501', 'role_bindings stays unreadable');
SELECT is(pg_temp.as_role('ua_sc_user', $$SELECT count(*)::text FROM analytics.access_list$$), 'ERROR 42501', 'so does access_list');

SELECT * FROM finish();
ROLLBACK;
