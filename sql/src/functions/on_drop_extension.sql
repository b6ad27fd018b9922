CREATE OR REPLACE FUNCTION analytics.on_drop_extension() RETURNS event_trigger
  LANGUAGE C
  AS 'MODULE_PATHNAME', 'ua_on_drop_extension';
COMMENT ON FUNCTION analytics.on_drop_extension() IS
  'Event trigger: runs uninstall_cleanup() before DROP EXTENSION usage_analytics (internal)';
REVOKE ALL ON FUNCTION analytics.on_drop_extension() FROM PUBLIC;
