-- A BEGIN ATOMIC body expanded e.* when it was created: again, with the
-- new column (same signature and body).
CREATE OR REPLACE FUNCTION analytics.unfolded_events(p_user_id text, d_from date, d_to date)
  RETURNS SETOF analytics.chat_events
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT e.* FROM analytics.chat_events e
     WHERE e.user_id = p_user_id AND e.recorded_xid >= analytics.fold_watermark()
       AND e.status IN ('completed', 'failed') AND e.usage_date BETWEEN d_from AND d_to;
  END;
COMMENT ON FUNCTION analytics.unfolded_events(text, date, date) IS
  'A user''s finished events of a range of local days not yet folded (the tail that read-your-writes views add)';
REVOKE ALL ON FUNCTION analytics.unfolded_events(text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.unfolded_events(text, date, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
