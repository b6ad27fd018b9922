CREATE OR REPLACE FUNCTION analytics.text_set_count_add(internal, text[]) RETURNS internal
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_text_set_count_add';
COMMENT ON FUNCTION analytics.text_set_count_add(internal, text[]) IS
  'Transition function of analytics.text_set_count';
REVOKE ALL ON FUNCTION analytics.text_set_count_add(internal, text[]) FROM PUBLIC;
