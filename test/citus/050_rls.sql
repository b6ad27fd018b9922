-- Row-level security as an end user on the cluster (issue 16), on the
-- cluster 000_smoke distributed and 040_reads_all filled (users ra1, ra2).
-- The policies run on the workers, in connections Citus opens as the
-- current role: the grant helpers bind the roles on every node, and act_as
-- sends the workers a signed identity (usage_analytics.identity_token).
-- An end user sees its own rows through the tables, the reads and the
-- dashboard, and nothing of another user; a forged token sees nothing, nor
-- does a token past its expiry (usage_analytics.identity_token_ttl) or one
-- whose expiry was changed.
-- The checks run as the end user inside the act_as transaction (values
-- kept with \gset), the assertions afterwards as the superuser.

SELECT plan(19);

-- Roles (LOGIN: Citus connects to the workers as the current role).
CREATE ROLE ua_rls_app LOGIN;
CREATE ROLE ua_rls_end LOGIN;
SELECT analytics.grant_app_backend('ua_rls_app') IS NULL AS ok \gset
SELECT analytics.grant_end_user('ua_rls_end') IS NULL AS ok \gset
SELECT analytics.grant_act_as('ua_rls_app', 'ua_rls_end') IS NULL AS ok \gset

SELECT is((SELECT array_agg(result ORDER BY nodeport) FROM run_command_on_workers(
             $$SELECT string_agg(role_name || ':' || kind, ',' ORDER BY role_name) FROM analytics.role_bindings
                WHERE role_name LIKE 'ua_rls_%'$$)),
          ARRAY['ua_rls_app:app_backend,ua_rls_end:end_user', 'ua_rls_app:app_backend,ua_rls_end:end_user'],
          'the grant helpers bind the roles on every worker too');
SELECT is((SELECT array_agg(result ORDER BY nodeport) FROM run_command_on_workers(
             $$SELECT md5(key) FROM analytics.identity_keys$$)),
          array_fill((SELECT md5(key) FROM analytics.identity_keys), ARRAY[2]),
          'every node holds the coordinator''s identity key');

-- What the superuser sees.
SELECT count(*) AS all_events, count(*) FILTER (WHERE user_id = 'ra1') AS ra1_events,
       count(*) FILTER (WHERE user_id = 'ra1' AND status IN ('completed', 'failed')) AS ra1_finished
  FROM analytics.chat_events \gset

-- The app backend reads every user's rows on the workers.
SET ROLE ua_rls_app;
SELECT count(*) AS app_events FROM analytics.chat_events \gset
RESET ROLE;
SELECT is(:app_events::bigint, :all_events::bigint, 'an app backend reads every user''s events on the workers');

-- The end user ra1, through act_as.
SET ROLE ua_rls_app;
BEGIN;
SELECT analytics.act_as('ra1', 'ua_rls_end') IS NULL AS ok \gset
SELECT current_user AS end_role, analytics.current_user_id() AS end_identity \gset
SELECT count(*) AS end_events, count(DISTINCT user_id) AS end_users FROM analytics.chat_events \gset
SELECT count(*) AS end_ra2 FROM analytics.chat_events WHERE user_id = 'ra2' \gset
SELECT count(DISTINCT user_id) AS end_counter_users, COALESCE(max(user_id), '') AS end_counter_user
  FROM analytics.usage_counters \gset
SELECT count(*) AS end_history FROM analytics.get_user_request_history('ra1') \gset
SELECT count(*) AS end_history_ra2 FROM analytics.get_user_request_history('ra2') \gset
SELECT (d->'metrics'->>'totalRequests')::int AS end_dashboard FROM analytics.user_dashboard() d \gset
SELECT sum(request_count) AS end_breakdown FROM analytics.get_user_token_breakdown() \gset
SELECT count(DISTINCT user_id) AS end_daily_users, COALESCE(max(user_id), '') AS end_daily_user
  FROM analytics.user_daily_usage \gset
SELECT count(*) AS end_analytics FROM analytics.user_request_analytics \gset
SELECT count(*) AS end_recent FROM analytics.v_user_recent_activity \gset
-- A forged identity for ra2 (no valid signature): the workers see no one.
SET LOCAL usage_analytics.identity_token = 'ra2/0000000000000000000000000000000000000000000000000000000000000000';
SELECT count(*) AS forged_events FROM analytics.chat_events \gset
ROLLBACK;
RESET ROLE;

-- The token act_as signed, set again by hand: valid until its expiry
-- (the control), and with its expiry moved later: no signature, no rows.
SET ROLE ua_rls_app;
BEGIN;
SELECT analytics.act_as('ra1', 'ua_rls_end') IS NULL AS ok \gset
SELECT current_setting('usage_analytics.identity_token') AS token \gset
SELECT regexp_replace(:'token', '/([0-9]+)/', '/' || (substring(:'token' from '/([0-9]+)/')::bigint + 86400) || '/')
       AS later_token \gset
SET LOCAL usage_analytics.identity_token = :'token';
SELECT count(*) AS replayed_events FROM analytics.chat_events \gset
SET LOCAL usage_analytics.identity_token = :'later_token';
SELECT count(*) AS later_events FROM analytics.chat_events \gset
ROLLBACK;
RESET ROLE;

-- A token past its expiry: a 1-second lifetime, read 2 seconds later.
SET usage_analytics.identity_token_ttl = 1;
SET ROLE ua_rls_app;
BEGIN;
SELECT analytics.act_as('ra1', 'ua_rls_end') IS NULL AS ok \gset
SELECT pg_sleep(2);
SELECT count(*) AS expired_events FROM analytics.chat_events \gset
ROLLBACK;
RESET ROLE;
RESET usage_analytics.identity_token_ttl;

SELECT is(:'end_role'::text, 'ua_rls_end', 'act_as switched to the end-user role');
SELECT is(:'end_identity'::text, 'ra1', 'and to the identity ra1');
SELECT is(:end_events::bigint, :ra1_events::bigint, 'the end user reads its own events on the workers, all of them');
SELECT is(:end_users::bigint, 1::bigint, 'and no other user''s');
SELECT is(:end_ra2::bigint, 0::bigint, 'another user''s events by name: none');
SELECT is(:'end_counter_user'::text, 'ra1', 'its counters only');
SELECT is(:end_history::bigint, :ra1_events::bigint, 'get_user_request_history: its requests');
SELECT is(:end_history_ra2::bigint, 0::bigint, 'get_user_request_history of another user: nothing');
SELECT is(:end_dashboard::bigint, :ra1_finished::bigint,
          'user_dashboard(): its totals');
SELECT is(:end_breakdown::numeric, 3::numeric, 'get_user_token_breakdown(): its models');
SELECT is(:'end_daily_user'::text, 'ra1', 'user_daily_usage: its days only');
SELECT is(:end_analytics::bigint, 1::bigint, 'user_request_analytics: its row only');
SELECT is(:forged_events::bigint, 0::bigint, 'a forged identity token sees no row on the workers');
SELECT is(:replayed_events::bigint, :ra1_events::bigint, 'the signed token, set again before its expiry, reads its user''s rows');
SELECT ok(:later_events::bigint = 0 AND :'later_token' LIKE 'ra1/%/%' AND :'later_token' <> :'token',
          'the same token with a later expiry does not verify: no row');
SELECT is(:expired_events::bigint, 0::bigint, 'a token past usage_analytics.identity_token_ttl sees no row on the workers');

SELECT * FROM finish();
