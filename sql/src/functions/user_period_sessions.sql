-- A user's distinct sessions (session_id) over local days.
CREATE OR REPLACE FUNCTION analytics.user_period_sessions(p_user_id text, d_from date, d_to date)
  RETURNS bigint
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT analytics.text_set_count(s.items) FROM (
      SELECT d.items FROM analytics.rollup_distinct d
       WHERE d.scope = 'user_session' AND d.scope_id = p_user_id AND d.usage_date BETWEEN d_from AND d_to
      UNION ALL
      SELECT array_agg(t.session_id) FROM analytics.unfolded_events(p_user_id, d_from, d_to) t) s;
  END;
COMMENT ON FUNCTION analytics.user_period_sessions(text, date, date) IS
  'A user''s distinct sessions (session_id) over local days: rollups plus the unfolded tail';
REVOKE ALL ON FUNCTION analytics.user_period_sessions(text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_period_sessions(text, date, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
