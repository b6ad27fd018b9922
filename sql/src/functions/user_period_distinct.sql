-- A user's distinct conversations and documents over local days: the
-- month sets of the whole months in the period, the day sets of the days
-- outside them, and the unfolded tail, counted by text_set_count.
CREATE OR REPLACE FUNCTION analytics.user_period_distinct(p_user_id text, d_from date, d_to date)
  RETURNS TABLE (conversation_count bigint, document_count bigint)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT (SELECT analytics.text_set_count(s.items) FROM (
              SELECT d.items FROM analytics.rollup_distinct d
               WHERE d.scope = 'user_month_conversation' AND d.scope_id = p_user_id
                 AND d.usage_date >= m.m_from AND d.usage_date < m.m_to
              UNION ALL
              SELECT c.conversation_ids FROM analytics.rollup_conversations c
               WHERE c.user_id = p_user_id AND c.usage_date BETWEEN d_from AND d_to
                 AND NOT (c.usage_date >= m.m_from AND c.usage_date < m.m_to)
              UNION ALL
              SELECT array_agg(t.conversation_id) FROM analytics.unfolded_events(p_user_id, d_from, d_to) t) s),
           (SELECT analytics.text_set_count(s.items) FROM (
              SELECT d.items FROM analytics.rollup_distinct d
               WHERE d.scope = 'user_month_document' AND d.scope_id = p_user_id
                 AND d.usage_date >= m.m_from AND d.usage_date < m.m_to
              UNION ALL
              SELECT d.items FROM analytics.rollup_distinct d
               WHERE d.scope = 'user_document' AND d.scope_id = p_user_id AND d.usage_date BETWEEN d_from AND d_to
                 AND NOT (d.usage_date >= m.m_from AND d.usage_date < m.m_to)
              UNION ALL
              SELECT array_agg(t.document_id) FROM analytics.unfolded_events(p_user_id, d_from, d_to) t) s)
      FROM (SELECT CASE WHEN d_from = pg_catalog.date_trunc('month', d_from::timestamp)::date THEN d_from
                        ELSE (pg_catalog.date_trunc('month', d_from::timestamp) + interval '1 month')::date
                   END AS m_from,
                   pg_catalog.date_trunc('month', (d_to + 1)::timestamp)::date AS m_to) m;
  END;
COMMENT ON FUNCTION analytics.user_period_distinct(text, date, date) IS
  'A user''s distinct conversations and documents over local days: the month sets of whole months, the day sets of the other days and the unfolded tail';
REVOKE ALL ON FUNCTION analytics.user_period_distinct(text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_period_distinct(text, date, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
