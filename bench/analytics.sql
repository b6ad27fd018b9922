-- Issue 3 figures at the loaded size: fold throughput (backfill), month percentiles
-- from rollups vs percentile_cont over the raw log, view refresh vs a
-- seed-style refresh over raw events.
SELECT date_trunc('month', now() - interval '1 month')::date AS m0 \gset

-- Fold everything recorded so far: the second half, spread over two months.
\set label 'backfill: one fold of events spread over two months'
\ir fold.sql

-- Previous month, p50/p95/p99 for every user.
CREATE TEMP TABLE exact AS
SELECT user_id, count(*) AS n,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY response_time_ms) AS p
  FROM analytics.chat_events
 WHERE occurred_at >= :'m0'::date AND occurred_at < (:'m0'::date + interval '1 month')
 GROUP BY user_id;
CREATE TEMP TABLE sketched AS
SELECT user_id, analytics.quantiles(latency, ARRAY[0.5, 0.95, 0.99]) AS p
  FROM analytics.rollup_user_monthly WHERE month = :'m0'::date;
SELECT bench.best_ms(format($q$SELECT user_id, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY response_time_ms)
                                  FROM analytics.chat_events WHERE occurred_at >= %L AND occurred_at < %L GROUP BY user_id$q$,
                              :'m0', (:'m0'::date + interval '1 month')), 3) AS raw_ms \gset
SELECT bench.best_ms(format($q$SELECT user_id, analytics.quantiles(latency, ARRAY[0.5, 0.95, 0.99])
                                  FROM analytics.rollup_user_monthly WHERE month = %L$q$, :'m0'), 3) AS sketch_ms \gset
SELECT max(abs(s.p[i] / e.p[i] - 1)) AS max_err, count(DISTINCT e.user_id) AS users
  FROM exact e JOIN sketched s USING (user_id), generate_series(1, 3) i \gset
INSERT INTO bench.results (section, metric, value, target) VALUES
  ('percentiles', 'users in the month', :'users', ''),
  ('percentiles', 'percentile_cont over raw events (ms)', round(:raw_ms::numeric, 1), ''),
  ('percentiles', 'monthly rollup sketches (ms)', round(:sketch_ms::numeric, 1), ''),
  ('percentiles', 'speed-up', round(:raw_ms / :sketch_ms, 1) || 'x', '>= 50x'),
  ('percentiles', 'max relative error (p50, p95, p99, all users)', round(100 * :max_err::numeric, 3) || ' %', '<= 1 %');

-- View refresh: ours (from rollups) vs a seed-style view over raw events.
CREATE MATERIALIZED VIEW bench_seed_monthly AS
SELECT user_id, date_trunc('month', occurred_at) AS month, count(*) AS message_count,
       sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) AS tokens,
       sum(cost) AS cost, avg(response_time_ms) AS avg_rt,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms) AS median_rt,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95_rt,
       count(DISTINCT conversation_id) AS conversations
  FROM analytics.chat_events GROUP BY 1, 2;
CREATE UNIQUE INDEX ON bench_seed_monthly (user_id, month);
SELECT bench.best_ms('REFRESH MATERIALIZED VIEW CONCURRENTLY bench_seed_monthly', 2) AS seed_ms \gset
-- Ours: every row rebuilt (as on the first refresh), then after a little
-- changed (1,000 events of the bench's Zipf users and documents folded, the typical cron
-- interval's worth at a few events a second), then after nothing changed.
SELECT bench.best_ms('UPDATE analytics.summary_refresh SET refreshed_at = NULL; SELECT analytics.refresh_all_views()', 2)
  AS full_ms \gset
SELECT count(analytics.record_chat_event(user_id => 'user_' || floor(exp(random() * ln(10000)))::int,
         model => 'gpt-4o-mini', input_tokens => 200, output_tokens => 50, response_time_ms => 400,
         document_id => CASE WHEN random() < 0.5 THEN 'doc_' || floor(exp(random() * ln(2000)))::int END,
         conversation_id => 'late_' || g))
  FROM generate_series(1, 1000) g \gset
SELECT analytics.fold() \gset
SELECT bench.best_ms('SELECT analytics.refresh_all_views()', 1) AS little_ms \gset
SELECT bench.best_ms('SELECT analytics.refresh_all_views()', 3) AS nothing_ms \gset
SELECT count(*) AS rollup_rows FROM analytics.rollup_user_daily \gset
SELECT (SELECT count(*) FROM analytics.mv_user_monthly_summary) + (SELECT count(*) FROM analytics.mv_document_popularity)
  AS summary_rows \gset
INSERT INTO bench.results (section, metric, value, target) VALUES
  ('views', 'rollup_user_daily rows', :'rollup_rows', ''),
  ('views', 'summary rows (user-months + documents)', :'summary_rows', ''),
  ('views', 'seed-style refresh over raw events (ms)', round(:seed_ms::numeric), ''),
  ('views', 'refresh_all_views(), every row rebuilt (ms)', round(:full_ms::numeric), ''),
  ('views', 'ratio, every row', round(:seed_ms / :full_ms, 1) || 'x', ''),
  ('views', 'refresh_all_views() after 1,000 events folded (ms)', round(:little_ms::numeric, 1), ''),
  ('views', 'ratio, after 1,000 events', round(:seed_ms / :little_ms, 1) || 'x', '>= 20x'),
  ('views', 'refresh_all_views() after nothing changed (ms)', round(:nothing_ms::numeric, 1), 'about constant');
DROP MATERIALIZED VIEW bench_seed_monthly;
