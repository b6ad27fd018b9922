CREATE OR REPLACE FUNCTION analytics.subject_at(p_user_id text, p_at timestamptz,
    OUT plan_id text, OUT time_zone text)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE sql STABLE PARALLEL SAFE
  BEGIN ATOMIC
    SELECT COALESCE(s.plan_id, analytics.setting('default_plan')),
           COALESCE(s.time_zone, 'UTC')
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
        SELECT s.plan_id, s.time_zone
          FROM analytics.subscriptions s
         WHERE s.user_id = p_user_id
           AND s.starts_at <= p_at
           AND (s.ends_at IS NULL OR s.ends_at > p_at)
         ORDER BY s.starts_at DESC
         LIMIT 1) s ON true;
  END;
COMMENT ON FUNCTION analytics.subject_at(text, timestamptz) IS
  'Plan and time zone in force for a user at a time (usage_analytics.default_plan and UTC without a subscription)';
REVOKE ALL ON FUNCTION analytics.subject_at(text, timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.subject_at(text, timestamptz)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
