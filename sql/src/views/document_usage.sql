CREATE OR REPLACE VIEW analytics.document_usage WITH (security_invoker = true) AS
SELECT r.document_id, r.usage_date AS date, r.requests AS query_count,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'document_user' AND d.scope_id = r.document_id AND d.usage_date = r.usage_date), 0) AS unique_users,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'document_conversation' AND d.scope_id = r.document_id AND d.usage_date = r.usage_date), 0) AS conversation_count,
       r.tokens_total,
       (r.tokens_total / NULLIF(r.requests, 0))::bigint AS avg_tokens_per_query,
       r.cost AS cost_total,
       round(analytics.sketch_sum(r.latency) / NULLIF(analytics.sketch_count(r.latency), 0))::integer AS avg_response_time_ms,
       round(analytics.quantile(r.latency, 0.5))::integer AS median_response_time_ms,
       round(analytics.quantile(r.latency, 0.95))::integer AS p95_response_time_ms,
       round(100.0 * r.cache_hits / NULLIF(r.requests, 0), 2) AS cache_hit_rate,
       round(r.feedback_sum::numeric / NULLIF(r.feedback_count, 0), 2) AS avg_feedback_rating,
       r.feedback_count,
       r.failed AS error_count,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('section', t.section, 'references', t.requests)
                                  ORDER BY t.requests DESC, t.section COLLATE "C")
                   FROM (SELECT x.section, x.requests FROM analytics.rollup_document_sections x
                          WHERE x.document_id = r.document_id AND x.usage_date = r.usage_date
                          ORDER BY x.requests DESC, x.section COLLATE "C" LIMIT 5) t), '[]') AS top_sections
  FROM analytics.rollup_documents r;
COMMENT ON VIEW analytics.document_usage IS
  'Per-document usage of each UTC day (seed 000), from the rollups as of the last fold; top_sections: the 5 sections most referenced that day (exact counts, ties by name)';
REVOKE ALL ON analytics.document_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'TABLE', 'analytics.document_usage', 'SELECT'),
  ('admin', 'TABLE', 'analytics.document_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
