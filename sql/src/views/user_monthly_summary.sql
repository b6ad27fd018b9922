-- End users read their own rows of the summary through this view (owner's
-- rights on the materialized view, rows filtered by identity).
CREATE OR REPLACE VIEW analytics.user_monthly_summary WITH (security_barrier = true) AS
SELECT s.*
  FROM analytics.mv_user_monthly_summary s
 WHERE s.user_id OPERATOR(pg_catalog.=) analytics.current_user_id()
    OR analytics.sees_all_rows();
COMMENT ON VIEW analytics.user_monthly_summary IS
  'mv_user_monthly_summary filtered to the caller''s own user (all rows for app backends and admins)';
REVOKE ALL ON analytics.user_monthly_summary FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.user_monthly_summary', 'SELECT')
  ON CONFLICT DO NOTHING;
