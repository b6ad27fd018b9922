CREATE OR REPLACE FUNCTION analytics.org_subject_at(p_org_id text, p_at timestamptz,
    OUT plan_id text, OUT time_zone text)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE sql STABLE PARALLEL SAFE
  BEGIN ATOMIC
    SELECT COALESCE(s.plan_id, analytics.setting('default_plan')),
           COALESCE(o.time_zone, 'UTC')
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
        SELECT s.plan_id
          FROM analytics.subscriptions s
         WHERE s.org_id = p_org_id
           AND s.starts_at <= p_at
           AND (s.ends_at IS NULL OR s.ends_at > p_at)
         ORDER BY s.starts_at DESC
         LIMIT 1) s ON true
      LEFT JOIN analytics.organizations o ON o.org_id = p_org_id;
  END;
COMMENT ON FUNCTION analytics.org_subject_at(text, timestamptz) IS
  'Plan and time zone in force for an organization at a time: its subscription in force, else usage_analytics.default_plan; always in the organization''s time zone (UTC for an org_id that is not an organization)';
REVOKE ALL ON FUNCTION analytics.org_subject_at(text, timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.org_subject_at(text, timestamptz)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
