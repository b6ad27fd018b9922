-- A string body: n.* is expanded when the function runs, so a column added
-- to notifications (rule_id, 1.1) needs no new definition of this function.
CREATE OR REPLACE FUNCTION analytics.list_notifications(user_id text DEFAULT NULL, include_acknowledged boolean DEFAULT false)
  RETURNS SETOF analytics.notifications
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT n.* FROM analytics.notifications n
     WHERE ($1 IS NULL OR n.user_id = $1)
       AND ($2 OR n.acknowledged_at IS NULL)
     ORDER BY n.created_at, n.notification_id;
  $$;
COMMENT ON FUNCTION analytics.list_notifications(text, boolean) IS
  'Notifications the caller may see (RLS), oldest first; unacknowledged ones unless asked';
REVOKE ALL ON FUNCTION analytics.list_notifications(text, boolean) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.list_notifications(text, boolean)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
