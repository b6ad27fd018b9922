CREATE OR REPLACE VIEW analytics.org_daily_usage WITH (security_invoker = true) AS
SELECT c.org_id,
       c.user_id,
       c.usage_date AS date,
       sum(c.requests)::bigint AS requests,
       sum(c.failed)::bigint AS failed,
       sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS tokens_total,
       sum(c.input_tokens)::bigint AS input_tokens,
       sum(c.cached_input_tokens)::bigint AS cached_input_tokens,
       sum(c.cache_write_tokens)::bigint AS cache_write_tokens,
       sum(c.output_tokens)::bigint AS output_tokens,
       sum(c.reasoning_tokens)::bigint AS reasoning_tokens,
       sum(c.cache_hits)::bigint AS cache_hits,
       sum(c.cost) AS cost,
       sum(c.cache_savings) AS cache_savings,
       CASE WHEN sum(c.response_time_count) > 0
            THEN pg_catalog.round(sum(c.response_time_sum)::numeric / sum(c.response_time_count))::integer
       END AS avg_response_time_ms,
       sum(c.pending_requests)::bigint AS pending_requests,
       sum(c.rejected)::bigint AS rejected
  FROM analytics.org_usage_counters c
 GROUP BY c.org_id, c.user_id, c.usage_date;
COMMENT ON VIEW analytics.org_daily_usage IS
  'Per organization and local day of the organization, its requests with org_id from the counters (read-your-writes): user_id '''' the totals, else each member''s share; row-level security of org_usage_counters decides what the caller sees';
REVOKE ALL ON analytics.org_daily_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.org_daily_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
