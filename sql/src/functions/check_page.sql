CREATE OR REPLACE FUNCTION analytics.check_page(p_limit integer, p_offset integer) RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
    RAISE EXCEPTION 'limit must be between 1 and 1000' USING ERRCODE = '22023';
  END IF;
  IF p_offset IS NULL OR p_offset < 0 OR p_offset > 100000 THEN
    RAISE EXCEPTION 'offset must be between 0 and 100000' USING ERRCODE = '22023',
      HINT = 'Page deep histories with get_user_request_history_before.';
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.check_page(integer, integer) IS 'Validates paging arguments (internal)';
REVOKE ALL ON FUNCTION analytics.check_page(integer, integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.check_page(integer, integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
