CREATE OR REPLACE FUNCTION analytics.notify_thresholds(user_id text) RETURNS void
  LANGUAGE C VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_notify_thresholds_sql';
COMMENT ON FUNCTION analytics.notify_thresholds(text) IS
  'Records and announces the thresholds a user''s usage has reached (internal)';
REVOKE ALL ON FUNCTION analytics.notify_thresholds(text) FROM PUBLIC;
