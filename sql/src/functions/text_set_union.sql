CREATE OR REPLACE FUNCTION analytics.text_set_union(a text[], b text[]) RETURNS text[]
  LANGUAGE C IMMUTABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_text_set_union';
COMMENT ON FUNCTION analytics.text_set_union(text[], text[]) IS
  'Union of two arrays sorted bytewise without duplicates, by one merge (internal to the fold)';
REVOKE ALL ON FUNCTION analytics.text_set_union(text[], text[]) FROM PUBLIC;
