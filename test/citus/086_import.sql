-- A history load on the cluster (issue 16, 17): import_chat_events reads a
-- coordinator table through a cursor and records its rows through the
-- batch path, whose statements Citus routes to the shards; the counters
-- equal the raw log and, after a fold, so do the rollups.

SELECT plan(4);

CREATE TABLE public.ua_hist AS
SELECT 'hi' || (i % 7) AS user_id, 'gpt-4o-mini' AS model, i AS input_tokens, 2 AS output_tokens,
       'hc' || (i % 11) AS conversation_id,
       now() - interval '3 days' - i * interval '7 minutes' AS occurred_at
  FROM generate_series(1, 300) i;

SELECT analytics.import_chat_events('public.ua_hist', 64) AS imported \gset
SELECT count(*) AS logged, sum(input_tokens) AS logged_tokens
  FROM analytics.chat_events WHERE user_id LIKE 'hi%' \gset
SELECT count(*) AS counter_drift FROM (
  SELECT user_id, usage_date, count(*) AS n, sum(input_tokens) AS t FROM analytics.chat_events
   WHERE user_id LIKE 'hi%' GROUP BY 1, 2
  EXCEPT
  SELECT user_id, usage_date, sum(requests), sum(input_tokens) FROM analytics.usage_counters
   WHERE user_id LIKE 'hi%' GROUP BY 1, 2) d \gset
SELECT analytics.fold() >= 300 AS ok \gset
SELECT count(*) AS rollup_drift FROM analytics.verify_rollups() \gset

SELECT is(:imported::bigint, 300::bigint, 'import_chat_events takes the 300 rows');
SELECT is(:'logged' || ' ' || :'logged_tokens', '300 45150', 'and the log on the shards holds them, once');
SELECT is(:counter_drift::bigint, 0::bigint, 'the counters equal the log, user-day by user-day');
SELECT is(:rollup_drift::bigint, 0::bigint, 'after a fold verify_rollups is empty');

DROP TABLE public.ua_hist;
SELECT * FROM finish();
