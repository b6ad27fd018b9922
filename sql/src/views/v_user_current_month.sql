CREATE OR REPLACE VIEW analytics.v_user_current_month WITH (security_invoker = true) AS
SELECT m.user_id, q.plan_id, m.month, m.message_count, m.tokens_total, m.cost_total,
       m.error_count, q.status, q.limit_name, q.used, q.limit_value, q.remaining,
       q.usage_percent, q.allowed AS can_make_request, q.resets_at
  FROM (SELECT c.user_id, pg_catalog.date_trunc('month', c.usage_date::timestamp)::date AS month,
               sum(c.requests)::bigint AS message_count,
               sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS tokens_total,
               sum(c.cost) AS cost_total, sum(c.failed)::bigint AS error_count
          FROM analytics.usage_counters c
         WHERE c.usage_date >= (pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC') - interval '1 month')::date
         GROUP BY 1, 2) m
  CROSS JOIN LATERAL analytics.check_quota(m.user_id, 0) q
 WHERE m.month = q.month_start;
COMMENT ON VIEW analytics.v_user_current_month IS
  'Each user''s current local month with the check_quota answer: usage percent of the binding limit, remaining, status';
REVOKE ALL ON analytics.v_user_current_month FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.v_user_current_month', 'SELECT')
  ON CONFLICT DO NOTHING;
