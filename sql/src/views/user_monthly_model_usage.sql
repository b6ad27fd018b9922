CREATE OR REPLACE VIEW analytics.user_monthly_model_usage WITH (security_invoker = true) AS
SELECT u.user_id, u.month,
       EXTRACT(year FROM u.month)::integer AS year,
       EXTRACT(month FROM u.month)::integer AS month_number,
       u.model, NULLIF(u.provider, '') AS provider,
       sum(u.requests)::bigint AS request_count,
       sum(u.failed)::bigint AS failed_count,
       sum(u.input_tokens)::bigint AS input_tokens,
       sum(u.cached_input_tokens)::bigint AS cached_input_tokens,
       sum(u.cache_write_tokens)::bigint AS cache_write_tokens,
       sum(u.output_tokens)::bigint AS output_tokens,
       sum(u.reasoning_tokens)::bigint AS reasoning_tokens,
       sum(u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens)::bigint AS total_tokens,
       sum(u.cost) AS total_cost,
       max(u.last_used) AS last_used
  FROM (SELECT r.user_id, pg_catalog.date_trunc('month', r.usage_date::timestamp)::date AS month,
               r.provider, r.model, r.requests, r.failed, r.input_tokens, r.cached_input_tokens,
               r.cache_write_tokens, r.output_tokens, r.reasoning_tokens, r.cost, r.last_used
          FROM analytics.rollup_user_models r
        UNION ALL
        SELECT e.user_id, pg_catalog.date_trunc('month', e.usage_date::timestamp)::date,
               COALESCE(e.provider, ''), e.model, 1, (e.status = 'failed')::integer,
               e.input_tokens, e.cached_input_tokens, e.cache_write_tokens, e.output_tokens,
               e.reasoning_tokens, e.cost, e.occurred_at
          FROM analytics.chat_events e
         WHERE e.recorded_xid >= analytics.fold_watermark() AND e.status IN ('completed', 'failed')) u
 GROUP BY u.user_id, u.month, u.model, u.provider;
COMMENT ON VIEW analytics.user_monthly_model_usage IS
  'Per-user usage by local month, model and provider (seed 003): requests, failures, tokens per ledger bucket, cost, last use; read-your-writes';
REVOKE ALL ON analytics.user_monthly_model_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.user_monthly_model_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
