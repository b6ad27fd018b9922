CREATE OR REPLACE VIEW analytics.model_monthly_usage WITH (security_invoker = true) AS
SELECT pg_catalog.date_trunc('month', r.usage_date::timestamp)::date AS month,
       r.model, NULLIF(r.provider, '') AS provider,
       sum(r.requests)::bigint AS request_count,
       sum(r.failed)::bigint AS failed_count,
       sum(r.tokens_total)::bigint AS total_tokens,
       (sum(r.tokens_total) / NULLIF(sum(r.requests), 0))::bigint AS avg_tokens,
       sum(r.cached_input_tokens)::bigint AS cached_input_tokens,
       sum(r.cost) AS total_cost
  FROM analytics.rollup_system_models r
 GROUP BY 1, r.model, r.provider;
COMMENT ON VIEW analytics.model_monthly_usage IS
  'Requests, tokens and cost per UTC month, model and provider, system-wide (seed 004), from the rollups as of the last fold';
REVOKE ALL ON analytics.model_monthly_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'TABLE', 'analytics.model_monthly_usage', 'SELECT'),
  ('admin', 'TABLE', 'analytics.model_monthly_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
