CREATE OR REPLACE FUNCTION analytics.list_notifications(user_id text DEFAULT NULL, include_acknowledged boolean DEFAULT false)
  RETURNS SETOF analytics.notifications
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT n.* FROM analytics.notifications n
     WHERE (list_notifications.user_id IS NULL OR n.user_id = list_notifications.user_id)
       AND (list_notifications.include_acknowledged OR n.acknowledged_at IS NULL)
     ORDER BY n.created_at, n.notification_id;
  END;
COMMENT ON FUNCTION analytics.list_notifications(text, boolean) IS
  'Notifications the caller may see (RLS), oldest first; unacknowledged ones unless asked';
REVOKE ALL ON FUNCTION analytics.list_notifications(text, boolean) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.list_notifications(text, boolean)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
