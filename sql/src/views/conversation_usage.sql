CREATE OR REPLACE VIEW analytics.conversation_usage WITH (security_invoker = true) AS
SELECT r.user_id, c.conversation_id,
       sum(c.requests)::bigint AS message_count,
       sum(c.tokens_total)::bigint AS tokens_total,
       sum(c.cost) AS cost_total,
       min(c.first_at) AS first_activity_at,
       max(c.last_at) AS last_activity_at,
       count(*)::integer AS active_days
  FROM analytics.rollup_conversations r,
       unnest(r.conversation_ids, r.requests, r.tokens_total, r.cost, r.first_at, r.last_at)
         AS c(conversation_id, requests, tokens_total, cost, first_at, last_at)
 GROUP BY r.user_id, c.conversation_id;
COMMENT ON VIEW analytics.conversation_usage IS
  'Per conversation (seed 004): messages, tokens, cost, first and last activity, active local days; from the rollups as of the last fold';
REVOKE ALL ON analytics.conversation_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.conversation_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
