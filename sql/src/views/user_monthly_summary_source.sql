CREATE VIEW analytics.user_monthly_summary_source AS
SELECT r.user_id, r.month, r.requests AS message_count,
       pg_catalog.bit_count(r.active_day_bits::bit(32))::integer AS active_days,
       r.tokens_total, r.cached_input_tokens AS tokens_cached,
       r.cost AS cost_total, r.cache_savings AS cost_saved_by_cache, r.failed AS error_count,
       round(100.0 * r.failed / NULLIF(r.requests, 0), 2) AS error_rate,
       round(q.p[1])::integer AS median_response_time_ms,
       round(q.p[2])::integer AS p95_response_time_ms,
       round(q.p[3])::integer AS p99_response_time_ms,
       round(r.feedback_sum::numeric / NULLIF(r.feedback_count, 0), 2) AS avg_feedback_rating,
       r.feedback_count,
       EXTRACT(year FROM r.month)::integer AS year,
       EXTRACT(month FROM r.month)::integer AS month_number,
       COALESCE(analytics.text_set_size(c.items), 0)::bigint AS conversation_count,
       COALESCE(analytics.text_set_size(d.items), 0)::bigint AS document_count,
       round(100.0 * r.cache_hits / NULLIF(r.requests, 0), 2) AS cache_hit_rate,
       round(analytics.sketch_sum(r.latency)::numeric / NULLIF(analytics.sketch_count(r.latency), 0))::integer
         AS avg_response_time_ms,
       r.last_used AS last_activity_at
  FROM analytics.rollup_user_monthly r
  CROSS JOIN LATERAL (SELECT analytics.quantiles(r.latency, '{0.5,0.95,0.99}') AS p) q
  LEFT JOIN analytics.rollup_distinct c
    ON c.scope = 'user_month_conversation' AND c.scope_id = r.user_id AND c.usage_date = r.month
  LEFT JOIN analytics.rollup_distinct d
    ON d.scope = 'user_month_document' AND d.scope_id = r.user_id AND d.usage_date = r.month
 WHERE r.requests > 0;
COMMENT ON VIEW analytics.user_monthly_summary_source IS
  'What mv_user_monthly_summary holds, computed from the rollups: refresh_all_views() copies the rows of the user-months that changed (internal)';
REVOKE ALL ON analytics.user_monthly_summary_source FROM PUBLIC;
