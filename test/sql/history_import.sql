\set ECHO none
-- The fold only folds committed transactions: this file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(31);

-- History loads read the source through a cursor (import_rows, C) with
-- each column taken as its key's value; every row of a batch is checked
-- before the batch is written, an error keeps its SQLSTATE and names the
-- source rows of its batch, and nothing of a failed load stays.
CREATE TABLE bad1 (user_id text, model text, input_tokens text);
INSERT INTO bad1 VALUES ('b1', 'gpt-4o', '5'), ('b2', 'gpt-4o', '6'), ('b3', 'gpt-4o', '12x'), ('b4', 'gpt-4o', '8');
SELECT throws_ok($$SELECT analytics.import_chat_events('bad1', 2)$$, '22P02',
  'source rows 3 to 4: event 1 key "input_tokens": invalid input syntax for type bigint: "12x"',
  'a value its key''s type does not take: the rows of its batch, the event and the key');
CREATE TABLE bad2 (user_id varchar(20), model text, output_tokens integer, occurred_at timestamptz);
INSERT INTO bad2 SELECT 'b' || i, 'gpt-4o', CASE WHEN i = 5 THEN -1 ELSE 10 END, now() - interval '2 days'
  FROM generate_series(1, 6) i;
SELECT throws_ok($$SELECT analytics.import_chat_events('bad2', 10)$$, '22023',
  'source rows 1 to 6: event 5: output_tokens must be between 0 and 100000000', 'a check of the write path');
CREATE TABLE bad3 (user_id text, model text, input_tokns integer);
INSERT INTO bad3 VALUES ('b1', 'gpt-4o', 1), ('b2', 'gpt-4o', 2), ('b3', 'gpt-4o', 3);
SELECT throws_ok($$SELECT analytics.import_chat_events('bad3')$$, '22023',
  'source rows 1 to 3: event 1 has unknown key "input_tokns"', 'a column that is no key');
CREATE TABLE bad4 (user_id jsonb, model text);
INSERT INTO bad4 VALUES ('"b1"', 'gpt-4o'), ('{"id": 2}', 'gpt-4o');
SELECT throws_ok($$SELECT analytics.import_chat_events('bad4')$$, '22023',
  'source rows 1 to 2: event 2 key "user_id" must be a string', 'a JSON object where a string belongs');
CREATE TABLE bad5 (user_id text, model text, sections_referenced text[]);
INSERT INTO bad5 VALUES ('b1', 'gpt-4o', '{a,b}'), ('b2', 'gpt-4o', '{{a,b},{c,d}}');
SELECT throws_ok($$SELECT analytics.import_chat_events('bad5')$$, '22023',
  'source rows 1 to 2: event 2 key "sections_referenced" must be an array of strings', 'a two-dimensional array');
CREATE TABLE bad6 (user_id text, model text, occurred_at timestamptz);
INSERT INTO bad6 SELECT 'b' || i, CASE WHEN i = 7 THEN 'no-such-model' ELSE 'gpt-4o' END, now() - interval '3 days'
  FROM generate_series(1, 9) i;
SELECT throws_ok($$SELECT analytics.import_chat_events('bad6', 3)$$, '42704',
  'source rows 7 to 9: event 1: unknown model "no-such-model"', 'an unknown model, found after two batches were written');
SELECT is((SELECT count(*) FROM analytics.chat_events) + (SELECT count(*) FROM analytics.request_keys)
          + (SELECT count(*) FROM analytics.usage_counters), 0::bigint,
  'nothing of any failed load stays (events, idempotency keys, counters)');

-- Column types: the load records what record_chat_events records for the
-- row's to_jsonb (the PL/pgSQL load's way), whatever the column's type.
CREATE DOMAIN pg_temp.tokens AS integer CHECK (VALUE >= 0);
CREATE TABLE typed (
  user_id varchar(40), model text, provider text, input_tokens smallint, cached_input_tokens bigint,
  output_tokens pg_temp.tokens, cost numeric(12, 6), response_time_ms real, time_to_first_token_ms integer,
  status text, occurred_at timestamp, conversation_id text, cache_hit boolean, sections_referenced text[],
  metadata json, intermediate_steps text, ip_address inet, user_query_length numeric, category "char");
INSERT INTO typed
  SELECT 'x' || i % 7, (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'])[1 + i % 3],
         CASE WHEN i % 3 = 2 THEN 'anthropic' END, (i * 37 % 4000)::smallint,
         CASE WHEN i % 4 = 0 THEN i % 30 END, i * 11 % 800, CASE WHEN i % 9 = 0 THEN 0.001234 * i END,
         CASE WHEN i % 5 <> 0 THEN 50.6 + i END, CASE WHEN i % 5 <> 0 THEN i % 40 END,
         CASE WHEN i % 11 = 0 THEN 'failed' ELSE 'completed' END,
         (now() AT TIME ZONE 'UTC') - interval '2 days' - i * interval '37 minutes', 'xc' || i % 13,
         i % 2 = 0, CASE WHEN i % 6 = 0 THEN ARRAY['s' || i % 4, NULL, 's9'] END,
         CASE WHEN i % 8 = 0 THEN json_build_object('n', i, 'l', json_build_array(1, 'two')) END,
         CASE WHEN i % 3 = 0 THEN (i % 5)::text END, CASE WHEN i % 4 = 1 THEN ('10.0.0.' || i % 200)::inet END,
         CASE WHEN i % 2 = 1 THEN i * 3 END, CASE WHEN i % 3 = 0 THEN 'q' END
    FROM generate_series(1, 300) i;
SET TimeZone = 'Asia/Tokyo';
SELECT is(analytics.import_chat_events('typed', 64), 300::bigint, 'a load of typed columns');
SELECT count(*) FROM analytics.record_chat_events((
  SELECT jsonb_agg(jsonb_set(to_jsonb(t), '{user_id}', to_jsonb('y' || substr(t.user_id, 2)))) FROM typed t)) \gset
SET TimeZone = 'UTC';
SELECT is_empty($$
  SELECT substr(user_id, 2), occurred_at, usage_date, provider, model, status, input_tokens, cached_input_tokens,
         output_tokens, cost, cost_input, cost_cached_input, cost_output, cache_savings, cost_source,
         response_time_ms, time_to_first_token_ms, conversation_id, cache_hit, sections_referenced,
         metadata, intermediate_steps, ip_address, user_query_length, category
    FROM analytics.chat_events WHERE user_id LIKE 'x%'
  EXCEPT
  SELECT substr(user_id, 2), occurred_at, usage_date, provider, model, status, input_tokens, cached_input_tokens,
         output_tokens, cost, cost_input, cost_cached_input, cost_output, cache_savings, cost_source,
         response_time_ms, time_to_first_token_ms, conversation_id, cache_hit, sections_referenced,
         metadata, intermediate_steps, ip_address, user_query_length, category
    FROM analytics.chat_events WHERE user_id LIKE 'y%'$$,
  'every column as record_chat_events records the row''s to_jsonb (timestamp read in the session''s time zone)');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE user_id LIKE 'x%'), 300::bigint, 'all 300 recorded');
CREATE TABLE jnull (user_id text, model text, metadata jsonb, occurred_at timestamptz);
INSERT INTO jnull VALUES ('j1', 'gpt-4o', 'null', now() - interval '1 day'), ('j2', 'gpt-4o', '{"a": 1}', now() - interval '1 day');
SELECT is(analytics.import_chat_events('jnull'), 2::bigint, 'a load of a jsonb column');
SELECT results_eq($$SELECT user_id, metadata FROM analytics.chat_events WHERE user_id LIKE 'j%' ORDER BY 1$$,
  $$VALUES ('j1', NULL::jsonb), ('j2', '{"a": 1}'::jsonb)$$, 'a JSON null in a jsonb column is an absent key, as in the batch');

-- Idempotency: a request_id recorded before the load (by the single path),
-- repeated inside the load, and the whole load again.
SELECT ok(analytics.record_chat_event('k1', 'gpt-4o', input_tokens => 5, request_id => 'r6',
          occurred_at => now() - interval '5 days') > 0, 'an event recorded before the load');
CREATE TABLE keyed AS
  SELECT 'k' || i % 5 AS user_id, 'gpt-4o' AS model, i AS input_tokens,
         CASE WHEN i % 2 = 0 THEN 'r' || i % 20 END AS request_id,
         now() - interval '1 day' - i * interval '3 hours' AS occurred_at
    FROM generate_series(1, 200) i;
SELECT is(analytics.import_chat_events('keyed', 30), 200::bigint, 'a load of rows with and without a request_id');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE user_id LIKE 'k%'), 1 + 100 + 9::bigint,
  'each (user_id, request_id) recorded once (10 keys in 100 rows, one recorded before): repeats skipped');
SELECT is((SELECT input_tokens FROM analytics.chat_events WHERE user_id = 'k1' AND request_id = 'r6'), 5,
  'the event recorded before the load is the one kept');
SELECT is(analytics.import_chat_events('keyed', 7), 200::bigint, 'the same load again');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE user_id LIKE 'k%'), 1 + 200 + 9::bigint,
  'again: only the rows without a request_id are new');

-- Counters and rollups equal the raw log after a load whose counter sums
-- are written several times (maintenance_work_mem at its least: 1 MB).
SET maintenance_work_mem = '1MB';
CREATE TABLE wide AS
  SELECT 'w' || i % 700 AS user_id, (ARRAY['gpt-4o', 'gpt-4o-mini'])[1 + i % 2] AS model, i % 3000 AS input_tokens,
         i % 500 AS output_tokens, CASE WHEN i % 7 <> 0 THEN 100 + i % 900 END AS response_time_ms,
         now() - interval '1 hour' - (i % 45) * interval '1 day' AS occurred_at
    FROM generate_series(1, 20000) i;
SELECT is(analytics.import_chat_events('wide', 2500), 20000::bigint, '20,000 events over 700 users and 45 days');
RESET maintenance_work_mem;
SELECT is_empty($$
  (SELECT user_id, usage_date, count(*), count(*) FILTER (WHERE status = 'failed'), sum(input_tokens),
          sum(cached_input_tokens), sum(output_tokens), sum(cost), COALESCE(sum(response_time_ms), 0),
          count(response_time_ms)
     FROM analytics.chat_events GROUP BY 1, 2
   EXCEPT
   SELECT user_id, usage_date, sum(requests), sum(failed), sum(input_tokens), sum(cached_input_tokens),
          sum(output_tokens), sum(cost), sum(response_time_sum), sum(response_time_count)
     FROM analytics.usage_counters GROUP BY 1, 2)
  UNION ALL
  (SELECT user_id, usage_date, sum(requests), sum(failed), sum(input_tokens), sum(cached_input_tokens),
          sum(output_tokens), sum(cost), sum(response_time_sum), sum(response_time_count)
     FROM analytics.usage_counters GROUP BY 1, 2
   EXCEPT
   SELECT user_id, usage_date, count(*), count(*) FILTER (WHERE status = 'failed'), sum(input_tokens),
          sum(cached_input_tokens), sum(output_tokens), sum(cost), COALESCE(sum(response_time_ms), 0),
          count(response_time_ms)
     FROM analytics.chat_events GROUP BY 1, 2)$$,
  'the user counters equal the raw log per user and day after every load');
SELECT ok(analytics.fold() > 0, 'folded');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'the rollups equal the raw log');

-- Thresholds: a load with events of the current period writes the
-- notifications one call per event writes, each once.
INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_token_limit, enforcement, warn_thresholds)
VALUES ('five', 'Five a day', 5, 1000, 'hard', '{0.5,0.8,1.0}');
SELECT ok(analytics.subscribe('ns', 'five') > 0 AND analytics.subscribe('ni', 'five') > 0, 'two users on five a day');
SELECT count(analytics.record_chat_event('ns', 'gpt-4o', input_tokens => 150)) FROM generate_series(1, 7) \gset
CREATE TABLE today AS SELECT 'ni'::text AS user_id, 'gpt-4o'::text AS model, 150 AS input_tokens FROM generate_series(1, 7);
SELECT is(analytics.import_chat_events('today', 2), 7::bigint, 'a load of seven events of today');
SELECT results_eq($$SELECT limit_name, period_start, threshold, limit_value FROM analytics.notifications
                     WHERE user_id = 'ni' ORDER BY 1, 2, 3$$,
  $$SELECT limit_name, period_start, threshold, limit_value FROM analytics.notifications
     WHERE user_id = 'ns' ORDER BY 1, 2, 3$$, 'the same notifications as one call per event');
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'ni'), 6::bigint,
  'three thresholds of the daily requests and of the monthly tokens, each once');
SELECT is(analytics.import_chat_events('today'), 7::bigint, 'loaded again (no request_id: seven more events)');
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'ni'), 6::bigint,
  'and no notification again');

-- The source is read with the caller's rights: what its query runs (a
-- function of a view) runs as the caller, not as the extension's owner.
CREATE ROLE ua_imp_app;
SELECT ok(analytics.grant_app_backend('ua_imp_app') IS NOT NULL, 'an app backend role');
CREATE FUNCTION public.ua_imp_who() RETURNS text LANGUAGE plpgsql VOLATILE AS $$BEGIN RETURN current_user; END$$;
SET ROLE ua_imp_app;
CREATE TEMP VIEW who_src AS SELECT public.ua_imp_who() AS user_id, 'gpt-4o' AS model, 10 AS input_tokens;
SELECT analytics.import_chat_events('who_src') AS n \gset
RESET ROLE;
SELECT is((SELECT array_agg(user_id) FROM analytics.chat_events WHERE input_tokens = 10 AND model = 'gpt-4o'
            AND user_id LIKE 'ua\_%'), ARRAY['ua_imp_app'], 'a function in the source ran as the caller');
SELECT is(pg_temp.as_role('ua_imp_app', $$SELECT analytics.import_chat_events('bad1')$$), 'ERROR 42501',
  'a caller without the right to read the source cannot load it');

DROP VIEW who_src;
DROP TABLE bad1, bad2, bad3, bad4, bad5, bad6, typed, jnull, keyed, wide, today;
SELECT * FROM finish();
DROP EXTENSION usage_analytics;
DROP FUNCTION public.ua_imp_who();
DROP OWNED BY ua_imp_app;
DROP ROLE ua_imp_app;
