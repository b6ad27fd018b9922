-- The demo: a few users on different plans and time zones, a few thousand
-- requests of the last days, then a quota answer and the usage tables.
\set ON_ERROR_STOP on
\pset pager off
SET client_min_messages = warning;
CREATE EXTENSION usage_analytics;
\o /dev/null
SELECT analytics.ensure_partitions();

SELECT analytics.subscribe('alice', 'free');
SELECT analytics.subscribe('bob', 'pro', now() - interval '40 days', 'America/New_York');
SELECT analytics.subscribe('chen', 'enterprise', now() - interval '40 days', 'Asia/Shanghai');

-- 3,000 requests over the last 20 days: mixed models, cache hits, failures.
SELECT setseed(0.5);
SELECT count(analytics.record_chat_event(
         user_id => (ARRAY['alice', 'bob', 'bob', 'chen', 'chen', 'chen'])[1 + (random() * 5)::int],
         model => (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'gemini-2.0-flash'])[1 + (random() * 3)::int],
         input_tokens => (200 + random() * 3000)::int,
         cached_input_tokens => CASE WHEN random() < 0.4 THEN (random() * 2000)::int ELSE 0 END,
         output_tokens => (50 + random() * 800)::int,
         response_time_ms => (300 + random() ^ 3 * 9000)::int,
         status => CASE WHEN random() < 0.03 THEN 'failed' ELSE 'completed' END,
         category => (ARRAY['search', 'summarize', 'chat'])[1 + (random() * 2)::int],
         request_id => 'demo-' || i,
         occurred_at => now() - random() * interval '20 days')) AS recorded
  FROM generate_series(1, 3000) AS i;
SELECT analytics.fold();
\o
\echo 'recorded 3,000 requests of alice (free), bob (pro, New York) and chen (enterprise, Shanghai), folded'

\echo
\echo '== May alice make a request of 2,000 tokens now?'
SELECT * FROM analytics.check_quota('alice', 2000);

\echo '== Admission: alice starts a request estimated at 2,000 tokens; it uses 60,400'
SELECT event_id, allowed, status, limit_name, remaining FROM analytics.start_request('alice', 'gpt-4o-mini', 2000) \gset
SELECT :event_id AS event_id, :'allowed' AS allowed, :'status' AS status, :'limit_name' AS limit_name, :'remaining' AS remaining;
SELECT * FROM analytics.complete_request(:event_id, input_tokens => 60000, output_tokens => 400, response_time_ms => 2100);

\echo '== This month per user, with latency percentiles from the rollups'
SELECT user_id, message_count, tokens_total, round(cost_total, 4) AS cost_usd,
       median_response_time_ms AS p50_ms, p95_response_time_ms AS p95_ms, p99_response_time_ms AS p99_ms
  FROM analytics.user_monthly_usage
 WHERE month = date_trunc('month', now())::date ORDER BY user_id;

\echo '== Current month per user'
SELECT user_id, plan_id, message_count, tokens_total, round(cost_total, 4) AS cost_usd,
       status, limit_name, usage_percent, can_make_request
  FROM analytics.v_user_current_month ORDER BY user_id;

\echo '== Threshold notifications'
SELECT user_id, limit_name, threshold, used, limit_value FROM analytics.notifications ORDER BY user_id, limit_name, threshold;

\echo '== Dashboard of alice (limits and performance)'
SELECT jsonb_pretty(analytics.user_dashboard('alice') - 'recentRequests');

\echo '== Last 5 days per user (local days)'
SELECT user_id, date, message_count, tokens_total, tokens_cached, round(cost_total, 4) AS cost_usd,
       round(cost_saved_by_cache, 4) AS saved_by_cache, avg_response_time_ms, error_count
  FROM analytics.user_daily_usage
 WHERE date > current_date - 5
 ORDER BY user_id, date;
