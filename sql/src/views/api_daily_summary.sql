-- Seed 002's daily_usage_summary, per organization and UTC day, read-your-writes.
CREATE OR REPLACE VIEW analytics.api_daily_summary WITH (security_invoker = true) AS
SELECT u.org_id, u.date,
       sum(u.requests)::bigint AS requests,
       sum(u.status_2xx)::bigint AS successful_requests,
       sum(u.status_4xx + u.status_5xx)::bigint AS errors,
       sum(u.status_4xx)::bigint AS client_errors,
       sum(u.status_5xx)::bigint AS server_errors,
       round(100.0 * sum(u.status_4xx + u.status_5xx) / NULLIF(sum(u.requests), 0), 2) AS error_rate,
       round(analytics.sketch_sum(analytics.latency_sketch_merge(u.latency))
             / NULLIF(analytics.sketch_count(analytics.latency_sketch_merge(u.latency)), 0))::integer AS avg_response_time_ms,
       round(analytics.quantile(analytics.latency_sketch_merge(u.latency), 0.95))::integer AS p95_response_time_ms,
       sum(u.billable_units)::bigint AS billable_units,
       count(DISTINCT u.endpoint) AS distinct_endpoints,
       count(DISTINCT u.api_key_id) FILTER (WHERE u.api_key_id <> 0) AS distinct_api_keys,
       sum(u.cached)::bigint AS cached_requests,
       round(100.0 * sum(u.cached) / NULLIF(sum(u.requests), 0), 2) AS cached_share,
       max(u.last_seen) AS last_seen
  FROM analytics.api_daily_usage u
 GROUP BY u.org_id, u.date;
COMMENT ON VIEW analytics.api_daily_summary IS
  'Seed 002 daily summary per organization and UTC day: requests, successes, errors (4xx + 5xx) and error rate (percent), average and p95 latency, billable units, distinct endpoints and API keys, cached requests and share (percent); read-your-writes';
REVOKE ALL ON analytics.api_daily_summary FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.api_daily_summary', 'SELECT')
  ON CONFLICT DO NOTHING;
