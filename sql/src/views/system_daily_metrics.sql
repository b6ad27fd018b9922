CREATE OR REPLACE VIEW analytics.system_daily_metrics WITH (security_invoker = true) AS
SELECT s.usage_date AS date,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'system_user' AND d.scope_id = '' AND d.usage_date = s.usage_date), 0) AS active_users,
       COALESCE(nu.new_users, 0) AS new_users,
       s.requests AS total_messages,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'system_conversation' AND d.scope_id = '' AND d.usage_date = s.usage_date), 0) AS total_conversations,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'system_document' AND d.scope_id = '' AND d.usage_date = s.usage_date), 0) AS total_documents_accessed,
       s.tokens_total, s.cached_input_tokens AS tokens_cached,
       round(100.0 * s.cached_input_tokens / NULLIF(s.tokens_total, 0), 2) AS cache_hit_rate,
       s.cost AS cost_total,
       round(s.cost / NULLIF(s.requests, 0), 6) AS cost_per_message,
       s.cache_savings AS cost_saved_by_cache,
       round(analytics.sketch_sum(s.latency) / NULLIF(analytics.sketch_count(s.latency), 0))::integer AS avg_response_time_ms,
       round(analytics.quantile(s.latency, 0.5))::integer AS median_response_time_ms,
       round(analytics.quantile(s.latency, 0.95))::integer AS p95_response_time_ms,
       round(analytics.quantile(s.latency, 0.99))::integer AS p99_response_time_ms,
       s.failed AS error_count,
       round(100.0 * s.failed / NULLIF(s.requests, 0), 2) AS error_rate,
       round(s.feedback_sum::numeric / NULLIF(s.feedback_count, 0), 2) AS avg_feedback_rating,
       s.model_distribution,
       round(s.query_length_sum / NULLIF(s.query_length_count, 0))::integer AS avg_query_length,
       round(s.response_length_sum / NULLIF(s.response_length_count, 0))::integer AS avg_response_length,
       COALESCE((SELECT jsonb_object_agg(l.label, l.requests) FROM analytics.rollup_system_labels l
                  WHERE l.usage_date = s.usage_date AND l.kind = 'query_intent'), '{}') AS requests_by_intent,
       COALESCE((SELECT jsonb_object_agg(l.label, l.requests) FROM analytics.rollup_system_labels l
                  WHERE l.usage_date = s.usage_date AND l.kind = 'request_type'), '{}') AS requests_by_type
  FROM (SELECT m.usage_date, sum(m.requests)::bigint AS requests, sum(m.failed)::bigint AS failed,
               sum(m.tokens_total)::bigint AS tokens_total,
               sum(m.cached_input_tokens)::bigint AS cached_input_tokens,
               sum(m.cost) AS cost, sum(m.cache_savings) AS cache_savings,
               analytics.latency_sketch_merge(m.latency) AS latency,
               sum(m.feedback_sum)::bigint AS feedback_sum, sum(m.feedback_count)::bigint AS feedback_count,
               jsonb_object_agg(m.model, m.requests) AS model_distribution,
               sum(m.query_length_sum) AS query_length_sum, sum(m.query_length_count) AS query_length_count,
               sum(m.response_length_sum) AS response_length_sum,
               sum(m.response_length_count) AS response_length_count
          FROM (SELECT x.usage_date, x.model, sum(x.requests)::bigint AS requests, sum(x.failed) AS failed,
                       sum(x.tokens_total) AS tokens_total, sum(x.cached_input_tokens) AS cached_input_tokens,
                       sum(x.cost) AS cost, sum(x.cache_savings) AS cache_savings,
                       analytics.latency_sketch_merge(x.latency) AS latency,
                       sum(x.feedback_sum) AS feedback_sum, sum(x.feedback_count) AS feedback_count,
                       sum(x.query_length_sum) AS query_length_sum, sum(x.query_length_count) AS query_length_count,
                       sum(x.response_length_sum) AS response_length_sum,
                       sum(x.response_length_count) AS response_length_count
                  FROM analytics.rollup_system_models x GROUP BY x.usage_date, x.model) m
         GROUP BY m.usage_date) s
  -- New users: those whose first day of all is this one.
  LEFT JOIN (SELECT f.first_day, count(*) AS new_users
               FROM (SELECT u.item, min(p.usage_date) AS first_day
                       FROM analytics.rollup_distinct p, unnest(p.items) AS u(item)
                      WHERE p.scope = 'system_user' AND p.scope_id = ''
                      GROUP BY u.item) f
              GROUP BY f.first_day) nu ON nu.first_day = s.usage_date;
COMMENT ON VIEW analytics.system_daily_metrics IS
  'Platform-wide metrics of each UTC day (seed 000): active and new users, volume, cost, latency percentiles, errors, model distribution, average query and response lengths, requests by query_intent and request_type';
REVOKE ALL ON analytics.system_daily_metrics FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'TABLE', 'analytics.system_daily_metrics', 'SELECT'),
  ('admin', 'TABLE', 'analytics.system_daily_metrics', 'SELECT')
  ON CONFLICT DO NOTHING;
