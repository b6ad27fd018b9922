CREATE OR REPLACE FUNCTION analytics.backend_slot() RETURNS smallint
  LANGUAGE C STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'ua_backend_slot';
COMMENT ON FUNCTION analytics.backend_slot() IS
  'The usage_counters slot this backend writes (internal)';
REVOKE ALL ON FUNCTION analytics.backend_slot() FROM PUBLIC;
