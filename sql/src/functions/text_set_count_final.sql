CREATE OR REPLACE FUNCTION analytics.text_set_count_final(internal) RETURNS bigint
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_text_set_count_final';
COMMENT ON FUNCTION analytics.text_set_count_final(internal) IS
  'Final function of analytics.text_set_count';
REVOKE ALL ON FUNCTION analytics.text_set_count_final(internal) FROM PUBLIC;
