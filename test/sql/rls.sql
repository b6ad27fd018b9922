\set ECHO none
\i test/setup.psql
SELECT plan(69);

CREATE ROLE ua_app;
CREATE ROLE ua_user;
CREATE ROLE ua_admin;
CREATE ROLE ua_org_admin;
CREATE ROLE ua_stranger;
SELECT lives_ok($$SELECT analytics.grant_app_backend('ua_app')$$, 'grant the app backend');
SELECT lives_ok($$SELECT analytics.grant_end_user('ua_user')$$, 'grant end users');
SELECT lives_ok($$SELECT analytics.grant_admin('ua_admin')$$, 'grant an admin');
SELECT lives_ok($$SELECT analytics.grant_admin('ua_org_admin', 'acme')$$, 'grant an org admin');
SELECT throws_ok($$SELECT analytics.grant_end_user('no_such_role')$$, '42704', 'role "no_such_role" does not exist', 'unknown role');
SELECT throws_ok($$SELECT analytics.apply_access('ua_user', 'end_user', 'acme', true)$$, '22023', NULL, 'org scope only for admins');

SELECT count(*) FROM (
  SELECT analytics.record_chat_event('alice', 'gpt-4o', input_tokens => 10),
         analytics.record_chat_event('bob', 'gpt-4o', input_tokens => 20, org_id => 'acme'),
         analytics.record_chat_event('carol', 'gpt-4o', input_tokens => 30, org_id => 'other')
    FROM generate_series(1, 2)) x \gset
SELECT ok(analytics.subscribe('alice', 'pro') > 0, 'subscribe alice');
SELECT ok(analytics.subscribe('bob', 'pro') > 0, 'subscribe bob');

-- An end user acting for alice sees alice's rows only, through every relation.
SET usage_analytics.user_id = 'alice';
SELECT is(pg_temp.as_role('ua_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.chat_events$$), 'alice', 'events: own rows only');
SELECT is(pg_temp.as_role('ua_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.usage_counters$$), 'alice', 'counters: own rows only');
SELECT is(pg_temp.as_role('ua_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.user_daily_usage$$), 'alice', 'daily usage: own rows only');
SELECT is(pg_temp.as_role('ua_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.user_monthly_usage$$), 'alice', 'monthly usage: own rows only');
SELECT is(pg_temp.as_role('ua_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.v_user_current_month$$), 'alice', 'current month: own rows only');
SELECT is(pg_temp.as_role('ua_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.subscriptions$$), 'alice', 'subscriptions: own rows only');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.chat_events WHERE user_id = 'bob'$$), '0', 'asking for bob''s events by name returns nothing');
SELECT is(pg_temp.as_role('ua_user', $$SELECT allowed::text FROM analytics.check_quota('alice')$$), 'true', 'an end user checks its own quota');
SELECT is(pg_temp.as_role('ua_user', $$SELECT allowed::text FROM analytics.check_quota('bob')$$), 'ERROR 42501', 'but not another user''s');

-- An end user cannot change who it is, nor write anything.
SELECT is(pg_temp.as_role('ua_user', $$SELECT set_config('usage_analytics.user_id', 'bob', false)$$), 'ERROR 42501', 'an end user cannot set usage_analytics.user_id');
SELECT is(pg_temp.as_role('ua_user', $$SELECT set_config('usage_analytics.trust_jwt_claims', 'on', false)$$), 'ERROR 42501', 'nor turn on trust of JWT claims');
SELECT is(pg_temp.as_role('ua_user', $$INSERT INTO analytics.chat_events (occurred_at, usage_date, user_id, model, status, cost, cost_source) VALUES (now(), current_date, 'alice', 'm', 'completed', 0, 'provided') RETURNING 'inserted'$$), 'ERROR 42501', 'no INSERT into events');
SELECT is(pg_temp.as_role('ua_user', $$UPDATE analytics.chat_events SET cost = 0 RETURNING 'updated'$$), 'ERROR 42501', 'no UPDATE of events');
SELECT is(pg_temp.as_role('ua_user', $$DELETE FROM analytics.chat_events RETURNING 'deleted'$$), 'ERROR 42501', 'no DELETE of events');
SELECT is(pg_temp.as_role('ua_user', $$UPDATE analytics.usage_counters SET requests = 0 RETURNING 'updated'$$), 'ERROR 42501', 'no UPDATE of counters');
SELECT is(pg_temp.as_role('ua_user', $$SELECT analytics.record_chat_event('alice', 'gpt-4o')::text$$), 'ERROR 42501', 'end users cannot record events');
SELECT is(pg_temp.as_role('ua_user', $$SELECT analytics.subscribe('alice', 'enterprise')::text$$), 'ERROR 42501', 'end users cannot change plans');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.request_keys$$), 'ERROR 42501', 'idempotency keys are internal');

SELECT throws_ok($$SELECT set_config('usage_analytics.user_id', repeat('x', 257), true)$$, '22023', NULL,
  'an identity longer than 256 bytes is refused');

-- Without identity: nothing.  JWT claims are ignored unless trusted.
RESET usage_analytics.user_id;
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.chat_events$$), '0', 'no identity: no rows');
SET request.jwt.claims = '{"sub": "bob"}';
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.chat_events$$), '0', 'untrusted JWT claims: no rows');
SET LOCAL usage_analytics.trust_jwt_claims = on;
SELECT is(pg_temp.as_role('ua_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.chat_events$$), 'bob', 'trusted JWT claims name the user');
SET LOCAL usage_analytics.jwt_claim = 'uid';
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.chat_events$$), '0', 'a missing claim is no identity');
RESET usage_analytics.trust_jwt_claims;
RESET usage_analytics.jwt_claim;
RESET request.jwt.claims;

-- A role with no grant reaches nothing.
SELECT is(pg_temp.as_role('ua_stranger', $$SELECT count(*)::text FROM analytics.chat_events$$), 'ERROR 42501', 'a role without access is refused');

-- The app backend records, sets identities and reads everything.
SELECT is(pg_temp.as_role('ua_app', $$SELECT (analytics.record_chat_event('dave', 'gpt-4o') > 0)::text$$), 'true', 'the app backend records events');
SELECT is(pg_temp.as_role('ua_app', $$SELECT set_config('usage_analytics.user_id', 'dave', true)$$), 'dave', 'the app backend may set usage_analytics.user_id');
SELECT is(pg_temp.as_role('ua_app', $$SELECT string_agg(DISTINCT user_id, ',' ORDER BY user_id) FROM analytics.chat_events$$), 'alice,bob,carol,dave', 'the app backend reads all rows');
RESET usage_analytics.user_id;

-- Admins: all rows, or their organization's events.
SELECT is(pg_temp.as_role('ua_admin', $$SELECT string_agg(DISTINCT user_id, ',' ORDER BY user_id) FROM analytics.usage_counters$$), 'alice,bob,carol,dave', 'an admin reads all counters');
SELECT is(pg_temp.as_role('ua_org_admin', $$SELECT string_agg(DISTINCT user_id, ',' ORDER BY user_id) FROM analytics.chat_events$$), 'bob', 'an org admin reads the organization''s events');

-- Rollups, materialized views and the read API.
INSERT INTO analytics.rollup_user_daily (user_id, usage_date) VALUES ('alice', current_date), ('bob', current_date);
INSERT INTO analytics.rollup_user_models VALUES ('bob', current_date, 'openai', 'gpt-4o', 1, 0, 1, 0, 0, 1, 0, 0.1, 0, 0, now());
INSERT INTO analytics.rollup_distinct VALUES ('user_document', 'bob', current_date, '{d1}'),
  ('system_user', '', current_date, '{bob}');
INSERT INTO analytics.rollup_documents VALUES ('doc', current_date, 1, 0, 1, 0.1, 0, NULL, 0, 0);
-- The monthly summary is read from the folded months.
INSERT INTO analytics.rollup_user_monthly (user_id, month, requests)
  SELECT u, date_trunc('month', current_date)::date, 1 FROM unnest('{alice,bob,carol,dave}'::text[]) u;
SELECT lives_ok('SELECT analytics.refresh_all_views()', 'refresh the materialized views');
SET usage_analytics.user_id = 'alice';
SELECT is(pg_temp.as_role('ua_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.rollup_user_daily$$), 'alice', 'rollup_user_daily: own rows only');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.rollup_user_models$$), '0', 'rollup_user_models: own rows only');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.rollup_distinct$$), '0', 'rollup_distinct: own scopes only');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.mv_user_monthly_summary$$), 'ERROR 42501', 'end users cannot read mv_user_monthly_summary');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.mv_document_popularity$$), 'ERROR 42501', 'end users cannot read mv_document_popularity');
SELECT is(pg_temp.as_role('ua_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.user_monthly_summary$$), 'alice', 'user_monthly_summary: own rows only');
SELECT is(pg_temp.as_role('ua_app', $$SELECT string_agg(DISTINCT user_id, ',' ORDER BY user_id) FROM analytics.user_monthly_summary$$), 'alice,bob,carol,dave', 'user_monthly_summary: all rows for the app backend');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.document_usage$$), 'ERROR 42501', 'end users cannot read document_usage');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.system_daily_metrics$$), 'ERROR 42501', 'end users cannot read system_daily_metrics');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.jobs$$), 'ERROR 42501', 'end users cannot read analytics.jobs');
SELECT is(pg_temp.as_role('ua_admin', $$SELECT count(*)::text FROM analytics.document_usage$$), '1', 'admins read document_usage');
SELECT is(pg_temp.as_role('ua_user', $$SELECT (analytics.user_dashboard() #>> '{metrics,totalRequests}')$$), '2', 'an end user reads its own dashboard');
SELECT is(pg_temp.as_role('ua_user', $$SELECT analytics.user_dashboard('bob')::text$$), 'ERROR 42501', 'but not another user''s');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.get_user_request_history('bob')$$), '0', 'another user''s history is empty');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.get_user_token_breakdown('bob')$$), '0', 'another user''s token breakdown is empty');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.get_user_request_history()$$), '2', 'its own history');

-- Feedback: own events only; nothing else changes.
SELECT min(id) AS alice_event FROM analytics.chat_events WHERE user_id = 'alice' \gset
SELECT min(id) AS bob_event FROM analytics.chat_events WHERE user_id = 'bob' \gset
SELECT is(pg_temp.as_role('ua_user', format('SELECT analytics.record_feedback(%s, 5, %L)::text', :alice_event, 'good')), '', 'an end user rates its own event');
SELECT is((SELECT row(feedback_rating, feedback_text, cost, input_tokens)::text FROM analytics.chat_events WHERE id = :alice_event),
  '(5,good,0.0000250000,10)', 'only the feedback changed');
SELECT is(pg_temp.as_role('ua_user', format('SELECT analytics.record_feedback(%s, 1)::text', :bob_event)), 'ERROR 42704', 'but not another user''s: it does not exist for them');
SELECT is(pg_temp.as_role('ua_user', 'SELECT analytics.record_feedback(999999, 1)::text'), 'ERROR 42704', 'an unknown event');
SELECT throws_ok(format('SELECT analytics.record_feedback(%s, 6)', :alice_event), '22023', 'rating must be between 1 and 5', 'rating above 5');
SELECT throws_ok(format('SELECT analytics.record_feedback(%s, NULL)', :alice_event), '23502', 'rating must not be null', 'no rating');
SELECT throws_ok('SELECT analytics.record_feedback(NULL, 3)', '23502', 'event_id must not be null', 'no event');
SELECT throws_ok(format('SELECT analytics.record_feedback(%s, 3, repeat(%L, 5000))', :alice_event, 'x'), '22001', NULL, 'feedback text too long');
RESET usage_analytics.user_id;
SELECT is(pg_temp.as_role('ua_user', format('SELECT analytics.record_feedback(%s, 2)::text', :alice_event)), 'ERROR 42501', 'no identity: no feedback');

-- Revoking takes everything back.
SELECT lives_ok($$SELECT analytics.revoke_access('ua_user', 'end_user')$$, 'revoke end-user access');
SELECT is(pg_temp.as_role('ua_user', $$SELECT count(*)::text FROM analytics.chat_events$$), 'ERROR 42501', 'a revoked role is refused');

-- Revoking one kind keeps what the role's other kinds need.
SELECT lives_ok($$SELECT analytics.grant_end_user('ua_admin')$$, 'an admin is an end user too');
SELECT lives_ok($$SELECT analytics.revoke_access('ua_admin', 'admin')$$, 'revoke its admin access');
SET usage_analytics.user_id = 'alice';
SELECT is(pg_temp.as_role('ua_admin', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.chat_events$$), 'alice',
  'it still reads its own events as an end user');
SELECT is(pg_temp.as_role('ua_admin', $$SELECT analytics.fold()::text$$), 'ERROR 42501', 'but no longer folds');
RESET usage_analytics.user_id;

SELECT * FROM finish();
ROLLBACK;
