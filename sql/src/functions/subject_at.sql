CREATE OR REPLACE FUNCTION analytics.subject_at(p_user_id text, p_at timestamptz,
    OUT plan_id text, OUT time_zone text)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE sql STABLE PARALLEL SAFE
  BEGIN ATOMIC
    SELECT COALESCE(s.plan_id, analytics.setting('default_plan')),
           COALESCE(s.time_zone, l.time_zone, 'UTC')
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
        SELECT s.plan_id, s.time_zone
          FROM analytics.subscriptions s
         WHERE s.user_id = p_user_id
           AND s.starts_at <= p_at
           AND (s.ends_at IS NULL OR s.ends_at > p_at)
         ORDER BY s.starts_at DESC
         LIMIT 1) s ON true
      LEFT JOIN LATERAL (
        SELECT l.time_zone
          FROM analytics.subscriptions l
         WHERE l.user_id = p_user_id
           AND l.starts_at <= p_at
         ORDER BY l.starts_at DESC
         LIMIT 1) l ON true;
  END;
COMMENT ON FUNCTION analytics.subject_at(text, timestamptz) IS
  'Plan and time zone in force for a user at a time: without a subscription in force, usage_analytics.default_plan in the time zone of the latest subscription that started (UTC if none)';
REVOKE ALL ON FUNCTION analytics.subject_at(text, timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.subject_at(text, timestamptz)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
