-- SECURITY INVOKER and inlined into the caller's query: row-level security
-- of chat_events decides what the caller sees, and a condition on user_id
-- reaches the primary key.
CREATE OR REPLACE FUNCTION analytics.user_recent_activity(days integer DEFAULT 7)
  RETURNS TABLE (user_id text, occurred_at timestamptz, event_id bigint, conversation_id text,
                 document_id text, model text, provider text, tokens_total integer, cost_total numeric,
                 response_time_ms integer, cache_hit boolean, error_occurred boolean, status text,
                 category text, metadata jsonb)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT e.user_id, e.occurred_at, e.id, e.conversation_id, e.document_id, e.model, e.provider,
           e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens,
           e.cost, e.response_time_ms, e.cache_hit, e.status = 'failed',
           e.status, e.category, e.metadata
      FROM analytics.chat_events e
     WHERE e.occurred_at >= now() - make_interval(days => analytics.check_days(user_recent_activity.days));
  END;
COMMENT ON FUNCTION analytics.user_recent_activity(integer) IS
  'Requests of the last days (1-3660, default 7) the caller may see (seed 000''s recent activity with the window as a parameter)';
REVOKE ALL ON FUNCTION analytics.user_recent_activity(integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_recent_activity(integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
