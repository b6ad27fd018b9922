CREATE OR REPLACE VIEW analytics.user_monthly_usage WITH (security_invoker = true) AS
SELECT m.user_id,
       m.month,
       EXTRACT(year FROM m.month)::integer AS year,
       EXTRACT(month FROM m.month)::integer AS month_number,
       pg_catalog.to_char(m.month, 'YYYY-MM') AS year_month,
       m.message_count, d.conversation_count, d.document_count, m.active_days,
       m.tokens_total, m.input_tokens, m.tokens_cached, m.cache_write_tokens, m.output_tokens,
       m.reasoning_tokens, m.cache_hit_count,
       pg_catalog.round(100.0 * m.tokens_cached / NULLIF(m.tokens_total, 0), 2) AS cache_hit_rate,
       m.cost_total, m.cost_saved_by_cache,
       CASE WHEN m.rt_count > 0 THEN pg_catalog.round(m.rt_sum::numeric / m.rt_count)::integer END
         AS avg_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.5))::integer AS median_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.95))::integer AS p95_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.99))::integer AS p99_response_time_ms,
       m.error_count,
       pg_catalog.round(100.0 * m.error_count / NULLIF(m.message_count, 0), 2) AS error_rate,
       pg_catalog.round(x.feedback_sum::numeric / NULLIF(x.feedback_count, 0), 2) AS avg_feedback_rating,
       x.feedback_count,
       l.limit_reached, l.limit_reached_at, l.limit_name,
       ln.avg_query_length,
       ln.avg_response_length,
       b.requests_by_intent,
       b.requests_by_type
  FROM (SELECT c.user_id,
               pg_catalog.date_trunc('month', c.usage_date::timestamp)::date AS month,
               sum(c.requests)::bigint AS message_count,
               count(DISTINCT c.usage_date) FILTER (WHERE c.requests > 0)::integer AS active_days,
               sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS tokens_total,
               sum(c.input_tokens)::bigint AS input_tokens,
               sum(c.cached_input_tokens)::bigint AS tokens_cached,
               sum(c.cache_write_tokens)::bigint AS cache_write_tokens,
               sum(c.output_tokens)::bigint AS output_tokens,
               sum(c.reasoning_tokens)::bigint AS reasoning_tokens,
               sum(c.cache_hits)::bigint AS cache_hit_count,
               sum(c.cost) AS cost_total,
               sum(c.cache_savings) AS cost_saved_by_cache,
               sum(c.response_time_sum)::bigint AS rt_sum,
               sum(c.response_time_count)::bigint AS rt_count,
               sum(c.failed)::bigint AS error_count
          FROM analytics.usage_counters c
         GROUP BY c.user_id, pg_catalog.date_trunc('month', c.usage_date::timestamp)::date) m
  CROSS JOIN LATERAL analytics.user_months_latency(m.user_id, m.month, m.month) x
  CROSS JOIN LATERAL analytics.user_period_distinct(m.user_id, m.month,
                       (m.month + interval '1 month - 1 day')::date) d
  CROSS JOIN LATERAL analytics.user_month_limit(m.user_id, m.month) l
  CROSS JOIN LATERAL analytics.user_months_lengths(m.user_id, m.month, m.month) ln
  CROSS JOIN LATERAL analytics.user_period_labels(m.user_id, m.month,
                       (m.month + interval '1 month - 1 day')::date) b;
COMMENT ON VIEW analytics.user_monthly_usage IS
  'Per-user usage of each local month: sums of at most 31 day counters, with percentiles, feedback, distinct counts, whether and when a monthly limit was reached, average query and response lengths and requests by query_intent and request_type';
REVOKE ALL ON analytics.user_monthly_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.user_monthly_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
