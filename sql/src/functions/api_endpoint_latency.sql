-- Seed 002's "API performance by endpoint" over UTC days, from the
-- read-your-writes view (RLS decides which organizations the caller sees).
CREATE OR REPLACE FUNCTION analytics.api_endpoint_latency(org_id text, from_date date DEFAULT NULL,
                                                          to_date date DEFAULT NULL)
  RETURNS TABLE (endpoint text, requests bigint, errors bigint, error_rate numeric, avg_response_time_ms integer,
                 p50_response_time_ms integer, p95_response_time_ms integer, p99_response_time_ms integer,
                 billable_units bigint, last_seen timestamptz)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT g.endpoint, g.requests, g.errors, round(100.0 * g.errors / NULLIF(g.requests, 0), 2),
           round(analytics.sketch_sum(g.latency) / NULLIF(analytics.sketch_count(g.latency), 0))::integer,
           round(analytics.quantile(g.latency, 0.5))::integer, round(analytics.quantile(g.latency, 0.95))::integer,
           round(analytics.quantile(g.latency, 0.99))::integer, g.billable_units, g.last_seen
      FROM (SELECT u.endpoint, sum(u.requests)::bigint AS requests,
                   sum(u.status_4xx + u.status_5xx)::bigint AS errors,
                   analytics.latency_sketch_merge(u.latency) AS latency,
                   sum(u.billable_units)::bigint AS billable_units, max(u.last_seen) AS last_seen
              FROM analytics.api_daily_usage u
             WHERE u.org_id = api_endpoint_latency.org_id
               AND u.date BETWEEN COALESCE(api_endpoint_latency.from_date, '-infinity'::date)
                              AND COALESCE(api_endpoint_latency.to_date, 'infinity'::date)
             GROUP BY u.endpoint) g
     ORDER BY g.requests DESC, g.endpoint COLLATE "C";
  END;
COMMENT ON FUNCTION analytics.api_endpoint_latency(text, date, date) IS
  'Per endpoint of an organization over a range of UTC days (NULL: unbounded): requests, errors (4xx + 5xx), error rate (percent), average, p50, p95 and p99 latency (ms), billable units, last request; read-your-writes, what RLS lets the caller see';
REVOKE ALL ON FUNCTION analytics.api_endpoint_latency(text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.api_endpoint_latency(text, date, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
