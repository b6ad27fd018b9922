CREATE OR REPLACE FUNCTION analytics.check_days(days integer) RETURNS integer
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF days IS NULL OR days < 1 OR days > 3660 THEN
    RAISE EXCEPTION 'days must be between 1 and 3660' USING ERRCODE = '22023';
  END IF;
  RETURN days;
END
$$;
COMMENT ON FUNCTION analytics.check_days(integer) IS 'Validates a window in days and returns it (internal)';
REVOKE ALL ON FUNCTION analytics.check_days(integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.check_days(integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
