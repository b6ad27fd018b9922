\set ECHO none
-- What real drivers send, and the identity recipe for connection pools.
-- Floats: psycopg sends a Python float as double precision, node-pg sends
-- every value as an untyped string; latencies are rounded to whole
-- milliseconds, costs kept exact when they come as numeric or text.
-- Identity: analytics.act_as(user_id, end_user_role) sets both for the
-- current transaction only.  This file commits (autocommit) to show that
-- nothing outlives a transaction, and drops what it made at its end.
\set autocommit on
\i test/setup.psql
SELECT plan(58);

CREATE ROLE ua_cl_app;
CREATE ROLE ua_cl_user;
CREATE ROLE ua_cl_other;
CREATE ROLE ua_cl_admin;
CREATE ROLE ua_cl_anon;
SELECT analytics.grant_app_backend('ua_cl_app'), analytics.grant_end_user('ua_cl_user'),
       analytics.grant_end_user('ua_cl_other'), analytics.grant_admin('ua_cl_admin') \gset
SELECT analytics.ensure_partitions(1) AS partitions \gset

-- Run statements with another session user (so that SET ROLE checks that
-- user's memberships) in a subtransaction that is always rolled back: the
-- last statement's value, or 'ERROR <sqlstate> <message>'.
CREATE FUNCTION pg_temp.as_session(r text, qs text[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  res text;
  i integer;
BEGIN
  BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', r);
    FOR i IN 1..array_length(qs, 1) - 1 LOOP
      EXECUTE qs[i];
    END LOOP;
    EXECUTE qs[array_length(qs, 1)] INTO res;
    RAISE EXCEPTION USING ERRCODE = 'UA000', MESSAGE = COALESCE(res, '<null>');
  EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE = 'UA000' THEN
      RETURN SQLERRM;
    END IF;
    RETURN 'ERROR ' || SQLSTATE || ' ' || SQLERRM;
  END;
END
$$;

/* ---- Floats from drivers -------------------------------------------- */

SELECT lives_ok($$SELECT analytics.record_chat_event(user_id => 'alice', model => 'gpt-4o', input_tokens => 10,
                    response_time_ms => 812.7::float8, time_to_first_token_ms => 99.4::float8, request_id => 'f1')$$,
  'record_chat_event takes double precision latencies (as psycopg sends a Python float)');
SELECT is((SELECT (response_time_ms, time_to_first_token_ms)::text FROM analytics.chat_events WHERE request_id = 'f1'),
  '(813,99)', 'they are rounded to whole milliseconds');
SELECT lives_ok($$SELECT analytics.record_chat_event(user_id => 'alice', model => 'gpt-4o', cost => 0.0123::float8,
                    request_id => 'f2')$$,
  'record_chat_event takes a double precision cost');
SELECT is((SELECT cost::text || ' ' || cost_source FROM analytics.chat_events WHERE request_id = 'f2'),
  '0.0123 provided', 'a double precision cost is stored as the decimal it prints as');
PREPARE untyped(unknown, unknown, unknown) AS
  SELECT analytics.record_chat_event(user_id => 'alice', model => 'gpt-4o', response_time_ms => $1, cost => $2,
                                     request_id => $3);
SELECT lives_ok($$EXECUTE untyped('812.7', '0.123456789012345678901234567890', 'f3')$$,
  'untyped parameters (as node-pg sends them) are accepted');
SELECT is((SELECT response_time_ms || ' ' || cost FROM analytics.chat_events WHERE request_id = 'f3'),
  '813 0.123456789012345678901234567890', 'an untyped latency is rounded, an untyped cost kept exact');
SELECT lives_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => 0.000000000000000000123456789::numeric,
                    response_time_ms => 7::int2, request_id => 'f4')$$,
  'numeric cost and smallint latency (psycopg''s Decimal and small int)');
SELECT is((SELECT response_time_ms || ' ' || cost FROM analytics.chat_events WHERE request_id = 'f4'),
  '7 0.000000000000000000123456789', 'a numeric cost is kept exact');
SELECT lives_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => 2, request_id => 'f5')$$,
  'an integer cost');
SELECT is((SELECT cost FROM analytics.chat_events WHERE request_id = 'f5'), 2::numeric, 'is stored as it is');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', response_time_ms => 'NaN'::float8)$$,
  '22023', 'response_time_ms must be a finite number', 'NaN latency');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', time_to_first_token_ms => '-Infinity'::float8)$$,
  '22023', 'time_to_first_token_ms must be a finite number', 'infinite latency');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', response_time_ms => -0.4::float8)$$,
  '22023', 'response_time_ms must be between 0 and 86400000', 'a negative latency is refused before rounding');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', response_time_ms => 86400000.6::float8)$$,
  '22023', 'response_time_ms must be between 0 and 86400000', 'a latency that rounds above a day');
SELECT lives_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', response_time_ms => 10.2::float8,
                    time_to_first_token_ms => 10.4::float8)$$,
  'the rounded latencies are compared (both 10 ms)');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', response_time_ms => 10.2::float8,
                     time_to_first_token_ms => 10.6::float8)$$,
  '22023', 'time_to_first_token_ms must not exceed response_time_ms', 'a first token after the response');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => 'NaN'::float8)$$,
  '22023', 'cost must be a finite number', 'NaN cost');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => -0.01::float8)$$,
  '22023', 'cost must not be negative', 'negative double precision cost');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => 'a dollar')$$,
  '22P02', NULL, 'a cost that is not a number');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE user_id = 'alice'), 6::bigint,
  'refused calls recorded nothing');

-- Admissions of gpt-4o: alice and carol on pro (the default plan lists other models).
SELECT analytics.subscribe('alice', 'pro') > 0 AND analytics.subscribe('carol', 'pro') > 0 AS on_pro \gset
SELECT event_id AS s1 FROM analytics.start_request(user_id => 'alice', model => 'gpt-4o', estimated_tokens => 100,
  estimated_cost => 0.25::float8, request_id => 's1') \gset
SELECT is((SELECT status || ' ' || reserved_cost FROM analytics.chat_events WHERE id = :s1), 'pending 0.25',
  'start_request takes a double precision estimated_cost');
SELECT is((SELECT status_out || ' ' || cost_out FROM analytics.complete_request(event_id => :s1, status => 'failed',
             input_tokens => 100, cost => 0.5::float8, response_time_ms => 812.7::float8,
             time_to_first_token_ms => 0.4::float8, error_code => 'timeout')),
  'failed 0.5', 'complete_request takes double precision cost and latencies (failure path)');
SELECT is((SELECT response_time_ms || ' ' || time_to_first_token_ms FROM analytics.chat_events WHERE id = :s1), '813 0',
  'complete_request rounds them');
SELECT throws_ok(format('SELECT * FROM analytics.complete_request(%s, response_time_ms => %L::float8)', :s1, 'Infinity'),
  '22023', 'response_time_ms must be a finite number', 'complete_request refuses an infinite latency');
SELECT throws_ok($$SELECT * FROM analytics.start_request('alice', 'gpt-4o', estimated_cost => 'Infinity'::float8)$$,
  '22023', 'cost must be a finite number', 'start_request refuses an infinite estimated cost');

SELECT is((SELECT count(*) FROM analytics.record_chat_events(
  '[{"user_id": "alice", "model": "gpt-4o", "response_time_ms": 812.7, "time_to_first_token_ms": 99.4,
     "cost": 0.0123, "request_id": "b1"}]')), 1::bigint, 'the batch takes JSON numbers with fractions');
SELECT is((SELECT response_time_ms || ' ' || time_to_first_token_ms || ' ' || cost FROM analytics.chat_events
            WHERE request_id = 'b1'), '813 99 0.0123', 'rounded latencies, exact cost');
-- PostgREST's /rpc with JSON named arguments: json_to_recordset typed as
-- the arguments, then a call with named arguments.
SELECT is((SELECT string_agg(DISTINCT p.proname, ',') FROM pg_proc p, unnest(p.proargtypes) a(t), pg_type ty
            WHERE p.pronamespace = 'analytics'::regnamespace AND ty.oid = a.t AND ty.typtype = 'p'
              AND p.proname IN ('record_chat_event', 'start_request', 'complete_request', 'act_as')), NULL,
  'no argument of the write functions has a pseudo-type (PostgREST reads JSON into the argument types)');
SELECT lives_ok($$
    SELECT analytics.record_chat_event(user_id => b.user_id, model => b.model, cost => b.cost,
                                       response_time_ms => b.response_time_ms, request_id => b.request_id)
      FROM json_to_recordset('[{"user_id": "alice", "model": "gpt-4o", "cost": 0.000123456789012345678,
                                "response_time_ms": 812.7, "request_id": "pgrst"}]')
           AS b(user_id text, model text, cost analytics.amount, response_time_ms double precision, request_id text)$$,
  'a call shaped as PostgREST''s for /rpc/record_chat_event');
SELECT is((SELECT response_time_ms || ' ' || cost FROM analytics.chat_events WHERE request_id = 'pgrst'),
  '813 0.000123456789012345678', 'PostgREST-style JSON numbers: rounded latency, exact cost');
SELECT is(analytics.record_chat_event_keys(),
  '{user_id,model,provider,input_tokens,cached_input_tokens,cache_write_tokens,output_tokens,reasoning_tokens,cost,response_time_ms,time_to_first_token_ms,status,error_code,error_message,request_id,occurred_at,org_id,conversation_id,message_id,document_id,session_id,request_type,category,query_intent,cache_hit,sections_referenced,intermediate_steps,metadata,model_version,user_query_length,ai_response_length,complexity,ip_address,user_agent}',
  'the batch keys follow the new signature');
SELECT is((SELECT count(*) FROM pg_proc p
            WHERE p.pronamespace = 'analytics'::regnamespace
              AND p.proname IN ('record_chat_event', 'start_request', 'complete_request')
              AND has_function_privilege('ua_cl_app', p.oid, 'EXECUTE')
              AND NOT has_function_privilege('ua_cl_user', p.oid, 'EXECUTE')), 3::bigint,
  'the app backend may call the three write functions, the end user may not');

SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[
    $$SELECT (analytics.record_chat_event('carol', 'gpt-4o', cost => 0.5::float8, response_time_ms => 3.4::float8) > 0
              AND analytics.record_chat_event('carol', 'gpt-4o', cost => 3) > 0
              AND (SELECT allowed FROM analytics.start_request('carol', 'gpt-4o', estimated_cost => 0.1::float8)))::text$$]),
  'true', 'the app backend role itself can pass double precision and integer costs (amount_in is granted)');

/* ---- Identity through a pool: act_as ------------------------------------ */

SELECT analytics.record_chat_event('bob', 'gpt-4o', input_tokens => 5, request_id => 'bob-1') AS bob_event \gset
SELECT throws_ok($$SELECT analytics.grant_act_as('ua_cl_app', 'ua_cl_admin')$$, '22023', NULL,
  'grant_act_as: only to end-user roles');
SELECT throws_ok($$SELECT analytics.grant_act_as('ua_cl_user', 'ua_cl_other')$$, '22023', NULL,
  'grant_act_as: only for app backends');
SELECT throws_ok($$SELECT analytics.grant_act_as('ua_cl_app', 'ua_cl_nobody')$$, '42704', NULL,
  'grant_act_as: unknown role');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[$$SELECT analytics.grant_act_as('ua_cl_app', 'ua_cl_user')$$]),
  'ERROR 42501 permission denied for function grant_act_as', 'grant_act_as is for superusers');
SELECT lives_ok($$SELECT analytics.grant_act_as('ua_cl_app', 'ua_cl_user')$$, 'grant_act_as');
SELECT ok(pg_has_role('ua_cl_app', 'ua_cl_user', 'MEMBER'), 'the app backend may now SET ROLE to the end-user role');

SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[
    $$SELECT analytics.act_as('alice', 'ua_cl_user')$$,
    $$SELECT analytics.current_user_id() || ' ' || current_user || ' ' || string_agg(DISTINCT user_id, ',')
        FROM analytics.chat_events$$]),
  'alice ua_cl_user alice', 'act_as: the identity and the end-user role, and RLS shows that user''s rows only');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[
    $$PREPARE act(text, name) AS SELECT analytics.act_as($1, $2)$$, $$EXECUTE act('bob', 'ua_cl_user')$$,
    $$SELECT analytics.current_user_id() || ' ' || count(*) FROM analytics.get_user_request_history(analytics.current_user_id(), 10, 0)$$]),
  'bob 1', 'act_as takes its arguments as values (bind parameters)');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[
    $$SELECT analytics.act_as('alice', 'ua_cl_user')$$, $$SELECT analytics.act_as('bob', 'ua_cl_user')$$]),
  'ERROR 42501 permission denied for function act_as', 'the end user cannot switch to another user');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[
    $$SELECT analytics.act_as('alice', 'ua_cl_user')$$,
    $$SELECT set_config('usage_analytics.user_id', 'bob', true)$$]),
  'ERROR 42501 permission denied to set parameter "usage_analytics.user_id"', 'nor set the identity itself');
SELECT matches(pg_temp.as_session('ua_cl_app', ARRAY[$$SELECT analytics.act_as('alice', 'ua_cl_other')$$]),
  '^ERROR 42501 permission denied to set role', 'act_as needs the membership grant_act_as gives');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[$$SELECT analytics.act_as('alice', 'ua_cl_admin')$$]),
  'ERROR 42501 role "ua_cl_admin" is not an end-user role', 'act_as switches to end-user roles only');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[$$SELECT analytics.act_as('alice', 'ua_cl_nobody')$$]),
  'ERROR 42704 role "ua_cl_nobody" does not exist', 'act_as: unknown role');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[$$SELECT analytics.act_as(NULL, 'ua_cl_user')$$]),
  'ERROR 23502 user_id must not be null', 'act_as: null user');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[$$SELECT analytics.act_as('', 'ua_cl_user')$$]),
  'ERROR 22023 user_id must not be empty', 'act_as: empty user');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[format('SELECT analytics.act_as(%L, %L)', repeat('u', 257), 'ua_cl_user')]),
  'ERROR 22001 user_id is too long', 'act_as: user id too long');
SELECT is(pg_temp.as_session('ua_cl_app', ARRAY[$$SELECT analytics.act_as('alice', NULL)$$]),
  'ERROR 23502 end_user_role must not be null', 'act_as: null role');
SELECT is(pg_temp.as_session('ua_cl_user', ARRAY[$$SELECT analytics.act_as('bob', 'ua_cl_user')$$]),
  'ERROR 42501 permission denied for function act_as', 'an end-user role cannot call act_as');

-- PostgREST: the request's role, and the identity from the JWT claims it
-- sets for the request (usage_analytics.trust_jwt_claims on).
BEGIN;
SET LOCAL usage_analytics.trust_jwt_claims = on;
SELECT is(pg_temp.as_session('ua_cl_user', ARRAY[
    $$SELECT set_config('request.jwt.claims', '{"sub": "alice", "role": "authenticated"}', true)$$,
    $$SELECT analytics.current_user_id() || ' ' || string_agg(DISTINCT user_id, ',') FROM analytics.chat_events$$]),
  'alice alice', 'PostgREST: the end-user role with request.jwt.claims reads only that user''s rows');
COMMIT;
SELECT is(pg_temp.as_session('ua_cl_anon', ARRAY[$$SELECT analytics.current_user_id()$$]),
  'ERROR 42501 permission denied for schema analytics', 'PostgREST: a role without a grant (anon) gets 42501');

-- Outside a transaction block the setting would end with the statement.
SET SESSION AUTHORIZATION ua_cl_app;
\set ON_ERROR_STOP false
SELECT analytics.act_as('alice', 'ua_cl_user');
SELECT :'LAST_ERROR_SQLSTATE' AS autocommit_sqlstate \gset
-- In a transaction: in force until its end, then gone (a pooled connection
-- handed to the next client carries nothing of alice).
BEGIN;
SELECT analytics.act_as('alice', 'ua_cl_user');
SELECT analytics.current_user_id() AS in_id, current_user AS in_role,
       (SELECT count(*) FROM analytics.chat_events WHERE user_id = 'bob') AS in_bob \gset
COMMIT;
SELECT COALESCE(analytics.current_user_id(), '<null>') AS after_id, current_user AS after_role,
       current_setting('role') AS after_role_setting,
       (SELECT count(*) FROM analytics.chat_events WHERE user_id = 'bob') AS after_bob \gset
-- A rolled-back savepoint takes the switch back too.
BEGIN;
SAVEPOINT s;
SELECT analytics.act_as('bob', 'ua_cl_user');
ROLLBACK TO SAVEPOINT s;
SELECT COALESCE(analytics.current_user_id(), '<null>') AS sp_id, current_user AS sp_role \gset
COMMIT;
RESET SESSION AUTHORIZATION;
\set ON_ERROR_STOP true
SELECT is(:'autocommit_sqlstate'::text, '25P01', 'act_as outside a transaction block is refused');
SELECT is(:'in_id' || ' ' || :'in_role' || ' ' || :'in_bob', 'alice ua_cl_user 0', 'inside the transaction: alice, confined');
SELECT is(:'after_id' || ' ' || :'after_role' || ' ' || :'after_role_setting', '<null> ua_cl_app none',
  'after COMMIT: no identity, the login role again');
SELECT cmp_ok(:'after_bob'::bigint, '>', 0::bigint, 'and the app backend sees every row again');
SELECT is(:'sp_id' || ' ' || :'sp_role', '<null> ua_cl_app', 'ROLLBACK TO SAVEPOINT undoes act_as');

SELECT * FROM finish();
SELECT analytics.revoke_access('ua_cl_app', 'app_backend'), analytics.revoke_access('ua_cl_user', 'end_user'),
       analytics.revoke_access('ua_cl_other', 'end_user'), analytics.revoke_access('ua_cl_admin', 'admin') \gset
DROP EXTENSION usage_analytics;
DROP ROLE ua_cl_app, ua_cl_user, ua_cl_other, ua_cl_admin, ua_cl_anon;
