-- A user's distinct conversations and documents over local days.
CREATE OR REPLACE FUNCTION analytics.user_period_distinct(p_user_id text, d_from date, d_to date)
  RETURNS TABLE (conversation_count bigint, document_count bigint)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT (SELECT count(DISTINCT i.item) FROM (
              SELECT x.item FROM analytics.rollup_conversations d, unnest(d.conversation_ids) AS x(item)
               WHERE d.user_id = p_user_id AND d.usage_date BETWEEN d_from AND d_to
              UNION ALL
              SELECT t.conversation_id FROM analytics.unfolded_events(p_user_id, d_from, d_to) t) i),
           (SELECT count(DISTINCT i.item) FROM (
              SELECT x.item FROM analytics.rollup_distinct d, unnest(d.items) AS x(item)
               WHERE d.scope = 'user_document' AND d.scope_id = p_user_id AND d.usage_date BETWEEN d_from AND d_to
              UNION ALL
              SELECT t.document_id FROM analytics.unfolded_events(p_user_id, d_from, d_to) t) i);
  END;
COMMENT ON FUNCTION analytics.user_period_distinct(text, date, date) IS
  'A user''s distinct conversations and documents over local days: rollups plus the unfolded tail';
REVOKE ALL ON FUNCTION analytics.user_period_distinct(text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_period_distinct(text, date, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
