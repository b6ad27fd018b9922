CREATE OR REPLACE VIEW analytics.org_monthly_usage WITH (security_invoker = true) AS
SELECT c.org_id,
       c.user_id,
       pg_catalog.date_trunc('month', c.usage_date::timestamp)::date AS month,
       sum(c.requests)::bigint AS requests,
       sum(c.failed)::bigint AS failed,
       sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS tokens_total,
       sum(c.cost) AS cost,
       sum(c.cache_savings) AS cache_savings,
       CASE WHEN sum(c.response_time_count) > 0
            THEN pg_catalog.round(sum(c.response_time_sum)::numeric / sum(c.response_time_count))::integer
       END AS avg_response_time_ms,
       count(DISTINCT c.usage_date) FILTER (WHERE c.requests > 0) AS active_days,
       sum(c.pending_requests)::bigint AS pending_requests,
       sum(c.rejected)::bigint AS rejected
  FROM analytics.org_usage_counters c
 GROUP BY c.org_id, c.user_id, pg_catalog.date_trunc('month', c.usage_date::timestamp)::date;
COMMENT ON VIEW analytics.org_monthly_usage IS
  'Per organization and local month of the organization, its requests with org_id from the counters (read-your-writes): user_id '''' the totals, else each member''s share; row-level security of org_usage_counters decides what the caller sees';
REVOKE ALL ON analytics.org_monthly_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.org_monthly_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
