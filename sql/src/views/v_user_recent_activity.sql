CREATE OR REPLACE VIEW analytics.v_user_recent_activity WITH (security_invoker = true) AS
SELECT a.user_id, a.occurred_at, a.event_id, a.conversation_id, a.document_id, a.model, a.provider,
       a.tokens_total, a.cost_total, a.response_time_ms, a.cache_hit, a.error_occurred,
       a.status, a.category, a.metadata
  FROM analytics.user_recent_activity() a;
COMMENT ON VIEW analytics.v_user_recent_activity IS
  'The last 7 days of requests (seed 000), with metadata instead of the seed''s document join; user_recent_activity(days) for another window';
REVOKE ALL ON analytics.v_user_recent_activity FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.v_user_recent_activity', 'SELECT')
  ON CONFLICT DO NOTHING;
