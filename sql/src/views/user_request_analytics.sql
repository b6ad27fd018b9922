CREATE OR REPLACE VIEW analytics.user_request_analytics WITH (security_invoker = true) AS
SELECT c.user_id,
       sum(c.requests)::bigint AS total_requests,
       sum(c.requests - c.failed)::bigint AS successful_requests,
       sum(c.failed)::bigint AS failed_requests,
       sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS total_tokens,
       sum(c.cost) AS total_cost,
       round(sum(c.response_time_sum)::numeric / NULLIF(sum(c.response_time_count), 0))::integer AS avg_response_time,
       (SELECT m.model FROM analytics.user_model_usage(c.user_id, '-infinity', 'infinity') m
         GROUP BY m.model ORDER BY sum(m.requests) DESC, m.model LIMIT 1) AS most_used_model,
       (SELECT NULLIF(m.provider, '') FROM analytics.user_model_usage(c.user_id, '-infinity', 'infinity') m
         GROUP BY m.provider ORDER BY sum(m.requests) DESC, m.provider LIMIT 1) AS most_used_provider,
       (SELECT max(e.occurred_at) FROM analytics.chat_events e WHERE e.user_id = c.user_id) AS last_request_time
  FROM analytics.usage_counters c
 GROUP BY c.user_id;
COMMENT ON VIEW analytics.user_request_analytics IS
  'Per-user totals (seed 003): requests, successes, failures, tokens, cost, average latency, most used model and provider (read-your-writes), last request';
REVOKE ALL ON analytics.user_request_analytics FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.user_request_analytics', 'SELECT')
  ON CONFLICT DO NOTHING;
