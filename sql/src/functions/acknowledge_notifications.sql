CREATE OR REPLACE FUNCTION analytics.acknowledge_notifications(ids bigint[]) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n integer;
BEGIN
  UPDATE analytics.notifications SET acknowledged_at = now()
   WHERE notification_id = ANY (ids) AND acknowledged_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.acknowledge_notifications(bigint[]) IS
  'Marks notifications acknowledged (app backends and admins); returns how many changed';
REVOKE ALL ON FUNCTION analytics.acknowledge_notifications(bigint[]) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.acknowledge_notifications(bigint[])', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.acknowledge_notifications(bigint[])', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
