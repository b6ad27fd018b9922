\set ECHO none
-- The fold only folds committed transactions: this file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(16);

-- A history load (issue 17): rows of the caller's table, recorded through
-- the batch path after the partitions of their months are made; the fold
-- then makes rollups equal to the raw log.
CREATE TABLE hist (
  user_id text, model text, provider text, input_tokens integer, cached_input_tokens integer,
  output_tokens integer, cost numeric, response_time_ms integer, time_to_first_token_ms integer,
  status text, occurred_at timestamptz, conversation_id text, document_id text, session_id text,
  category text, request_id text, org_id text, sections_referenced text[], metadata jsonb);
SELECT ok(analytics.create_organization('hco', 'History Co', owner_id => 'h1') = 'hco', 'an organization');
INSERT INTO hist
  SELECT 'h' || i % 40, (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'])[1 + i % 3], NULL,
         i * 37 % 4000, CASE WHEN i % 3 = 0 THEN i % 500 END, i * 11 % 800,
         CASE WHEN i % 13 = 0 THEN 0.002 * (i % 50) END,
         CASE WHEN i % 10 <> 0 THEN 50 + i * 7 % 3000 END, CASE WHEN i % 10 <> 0 THEN i % 40 END,
         CASE WHEN i % 17 = 0 THEN 'failed' ELSE 'completed' END,
         date_trunc('day', now()) - (i % 80) * interval '1 day' + (i % 1440) * interval '1 minute' - interval '1 day',
         'hc' || i % 90, CASE WHEN i % 2 = 0 THEN 'hd' || i % 15 END, 'hs' || i % 200,
         (ARRAY['search', 'chat', NULL])[1 + i % 3], CASE WHEN i % 5 = 0 THEN 'hr' || i % 900 END,
         CASE WHEN i % 4 = 0 THEN 'hco' END, CASE WHEN i % 6 = 0 THEN ARRAY['s' || i % 4, 's9'] END,
         CASE WHEN i % 8 = 0 THEN jsonb_build_object('n', i) END
    FROM generate_series(1, 6000) i;
SELECT is(analytics.import_chat_events('hist', 1000), 6000::bigint, 'every row taken, 1,000 a call');
SELECT is((SELECT count(*) FROM analytics.chat_events), 5160::bigint,
  'repeats of a request_id recorded once (1,200 rows with a key, 360 distinct (user_id, request_id))');
SELECT is((SELECT count(*) FROM analytics.chat_events_default), 0::bigint,
  'no event waits in the default partition: the months of the history got theirs first');
SELECT ok(to_regclass('analytics.chat_events_' || to_char(now() AT TIME ZONE 'UTC' - interval '80 days', 'YYYYMM')) IS NOT NULL,
  'the partition of the oldest month');
SELECT is_empty($$
  (SELECT user_id, usage_date, count(*), count(*) FILTER (WHERE status = 'failed'), sum(input_tokens),
          sum(cached_input_tokens), sum(output_tokens), sum(cost), COALESCE(sum(response_time_ms), 0)
     FROM analytics.chat_events GROUP BY 1, 2
   EXCEPT
   SELECT user_id, usage_date, sum(requests), sum(failed), sum(input_tokens), sum(cached_input_tokens),
          sum(output_tokens), sum(cost), sum(response_time_sum)
     FROM analytics.usage_counters GROUP BY 1, 2)
  UNION ALL
  (SELECT user_id, usage_date, sum(requests), sum(failed), sum(input_tokens), sum(cached_input_tokens),
          sum(output_tokens), sum(cost), sum(response_time_sum)
     FROM analytics.usage_counters GROUP BY 1, 2
   EXCEPT
   SELECT user_id, usage_date, count(*), count(*) FILTER (WHERE status = 'failed'), sum(input_tokens),
          sum(cached_input_tokens), sum(output_tokens), sum(cost), COALESCE(sum(response_time_ms), 0)
     FROM analytics.chat_events GROUP BY 1, 2)$$,
  'the user counters equal the raw log per user and day');
SELECT is_empty($$
  SELECT org_id, usage_date, count(*), sum(input_tokens), sum(cost) FROM analytics.chat_events
   WHERE org_id IS NOT NULL GROUP BY 1, 2
  EXCEPT
  SELECT org_id, usage_date, sum(requests), sum(input_tokens), sum(cost) FROM analytics.org_usage_counters
   WHERE user_id = '' GROUP BY 1, 2$$, 'the organization''s pooled counters equal the raw log');
SELECT is(analytics.fold(), 5160::bigint, 'one fold takes the whole history');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'after the fold the rollups equal the raw log');

-- Again: rows with a request_id are repeats, the others new events.
SELECT is(analytics.import_chat_events('hist', 5000), 6000::bigint, 'a second load of the same rows');
SELECT is((SELECT count(*) FROM analytics.chat_events), 5160::bigint + 4800, 'only the rows without a request_id are new');
SELECT is(analytics.fold(), 4800::bigint, 'folded');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'and the rollups still equal the raw log');

-- Errors name the source rows; nothing of a failed load stays.
CREATE TABLE bad (user_id text, model text, input_tokens text);
INSERT INTO bad VALUES ('h1', 'gpt-4o', '5'), ('h2', 'gpt-4o', '6'), ('h3', 'gpt-4o', '7'), ('h4', 'no-such-model', '8');
SELECT throws_ok($$SELECT analytics.import_chat_events('bad', 2)$$, '42704',
  'source rows 3 to 4: event 2: unknown model "no-such-model"', 'a bad row fails the load and names its rows');
SELECT is((SELECT count(*) FROM analytics.chat_events), 9960::bigint, 'and nothing of it was written');
SELECT throws_ok($$SELECT analytics.import_chat_events('hist', 0)$$, '22023', NULL, 'batch_size must be positive');

DROP TABLE hist, bad;
SELECT * FROM finish();
DROP EXTENSION usage_analytics;
