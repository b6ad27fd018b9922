-- Seed 004's "average conversation length": over the conversations the
-- caller sees (RLS) whose first event is at or after since.
CREATE OR REPLACE FUNCTION analytics.conversation_averages(since timestamptz DEFAULT pg_catalog.now() - interval '30 days')
  RETURNS TABLE (conversation_count bigint, avg_messages numeric, avg_tokens numeric, avg_cost numeric)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT count(*), round(avg(c.message_count), 2), round(avg(c.tokens_total), 2), round(avg(c.cost_total), 6)
      FROM analytics.conversation_usage c
     WHERE c.first_activity_at >= since;
  END;
COMMENT ON FUNCTION analytics.conversation_averages(timestamptz) IS
  'Conversations begun since a time (default: the last 30 days) and their average messages, tokens and cost, over the conversations the caller sees; from the rollups as of the last fold';
REVOKE ALL ON FUNCTION analytics.conversation_averages(timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.conversation_averages(timestamptz)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
