CREATE OR REPLACE FUNCTION analytics.text_set_size(text[]) RETURNS integer
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_text_set_size';
COMMENT ON FUNCTION analytics.text_set_size(text[]) IS
  'Number of elements of an array (cardinality), read from its header alone: a large stored set is not fetched whole';
REVOKE ALL ON FUNCTION analytics.text_set_size(text[]) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.text_set_size(text[])', 'EXECUTE')
  ON CONFLICT DO NOTHING;
