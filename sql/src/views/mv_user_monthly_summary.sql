CREATE MATERIALIZED VIEW analytics.mv_user_monthly_summary AS
SELECT c.user_id, c.month, c.message_count, c.active_days, c.tokens_total, c.tokens_cached,
       c.cost_total, c.cost_saved_by_cache, c.error_count,
       round(100.0 * c.error_count / NULLIF(c.message_count, 0), 2) AS error_rate,
       round(analytics.quantile(r.latency, 0.5))::integer AS median_response_time_ms,
       round(analytics.quantile(r.latency, 0.95))::integer AS p95_response_time_ms,
       round(analytics.quantile(r.latency, 0.99))::integer AS p99_response_time_ms,
       round(r.feedback_sum::numeric / NULLIF(r.feedback_count, 0), 2) AS avg_feedback_rating,
       r.feedback_count,
       EXTRACT(year FROM c.month)::integer AS year,
       EXTRACT(month FROM c.month)::integer AS month_number,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'user_conversation' AND x.scope_id = c.user_id
           AND x.usage_date BETWEEN c.month AND (c.month + interval '1 month - 1 day')::date) AS conversation_count,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'user_document' AND x.scope_id = c.user_id
           AND x.usage_date BETWEEN c.month AND (c.month + interval '1 month - 1 day')::date) AS document_count,
       round(100.0 * c.cache_hits / NULLIF(c.message_count, 0), 2) AS cache_hit_rate,
       round(c.rt_sum::numeric / NULLIF(c.rt_count, 0))::integer AS avg_response_time_ms,
       (SELECT max(m.last_used) FROM analytics.rollup_user_models m
         WHERE m.user_id = c.user_id
           AND m.usage_date BETWEEN c.month AND (c.month + interval '1 month - 1 day')::date) AS last_activity_at
  FROM (SELECT u.user_id, date_trunc('month', u.usage_date::timestamp)::date AS month,
               sum(u.requests)::bigint AS message_count,
               count(DISTINCT u.usage_date) FILTER (WHERE u.requests > 0)::integer AS active_days,
               sum(u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens)::bigint AS tokens_total,
               sum(u.cached_input_tokens)::bigint AS tokens_cached, sum(u.cost) AS cost_total,
               sum(u.cache_savings) AS cost_saved_by_cache, sum(u.failed)::bigint AS error_count,
               sum(u.cache_hits)::bigint AS cache_hits, sum(u.response_time_sum)::bigint AS rt_sum,
               sum(u.response_time_count)::bigint AS rt_count
          FROM analytics.usage_counters u
         GROUP BY 1, 2) c
  LEFT JOIN analytics.rollup_user_monthly r USING (user_id, month)
WITH NO DATA;
CREATE UNIQUE INDEX mv_user_monthly_summary_key ON analytics.mv_user_monthly_summary (user_id, month);
COMMENT ON MATERIALIZED VIEW analytics.mv_user_monthly_summary IS
  'Per-user monthly summary (seed 000) from the counters and rollups (percentiles, feedback, distinct counts, last_activity_at as of the last fold); cache_hit_rate is the percentage of requests that hit the cache; refreshed by refresh_all_views(); read it through user_monthly_summary';
REVOKE ALL ON analytics.mv_user_monthly_summary FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'TABLE', 'analytics.mv_user_monthly_summary', 'SELECT', true)
  ON CONFLICT DO NOTHING;
