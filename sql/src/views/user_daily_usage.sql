CREATE OR REPLACE VIEW analytics.user_daily_usage WITH (security_invoker = true) AS
SELECT c.user_id,
       c.usage_date AS date,
       c.requests AS message_count,
       d.conversation_count,
       d.document_count,
       c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens AS tokens_total,
       c.input_tokens,
       c.cached_input_tokens AS tokens_cached,
       c.cache_write_tokens,
       c.output_tokens,
       c.reasoning_tokens,
       c.cache_hits AS cache_hit_count,
       c.cost AS cost_total,
       c.cache_savings AS cost_saved_by_cache,
       CASE WHEN c.response_time_count > 0
            THEN pg_catalog.round(c.response_time_sum::numeric / c.response_time_count)::integer
       END AS avg_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.5))::integer AS median_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.95))::integer AS p95_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.99))::integer AS p99_response_time_ms,
       c.failed AS error_count,
       pg_catalog.round(x.feedback_sum::numeric / NULLIF(x.feedback_count, 0), 2) AS avg_feedback_rating,
       x.feedback_count,
       l.avg_query_length,
       l.avg_response_length,
       analytics.user_period_sessions(c.user_id, c.usage_date, c.usage_date) AS session_count
  FROM (SELECT u.user_id, u.usage_date, sum(u.requests)::bigint AS requests, sum(u.failed)::bigint AS failed,
               sum(u.input_tokens)::bigint AS input_tokens, sum(u.cached_input_tokens)::bigint AS cached_input_tokens,
               sum(u.cache_write_tokens)::bigint AS cache_write_tokens, sum(u.output_tokens)::bigint AS output_tokens,
               sum(u.reasoning_tokens)::bigint AS reasoning_tokens, sum(u.cache_hits)::bigint AS cache_hits,
               sum(u.cost) AS cost, sum(u.cache_savings) AS cache_savings,
               sum(u.response_time_sum)::bigint AS response_time_sum,
               sum(u.response_time_count)::bigint AS response_time_count
          FROM analytics.usage_counters u
         GROUP BY u.user_id, u.usage_date) c
  CROSS JOIN LATERAL analytics.user_period_latency(c.user_id, c.usage_date, c.usage_date) x
  CROSS JOIN LATERAL analytics.user_period_distinct(c.user_id, c.usage_date, c.usage_date) d
  CROSS JOIN LATERAL analytics.user_period_lengths(c.user_id, c.usage_date, c.usage_date) l;
COMMENT ON VIEW analytics.user_daily_usage IS
  'Per-user usage of each local day (seed 000): exact counts from the counters; latency percentiles, feedback, distinct conversations, documents and sessions, average query and response lengths from the rollups plus unfolded events';
REVOKE ALL ON analytics.user_daily_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.user_daily_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
