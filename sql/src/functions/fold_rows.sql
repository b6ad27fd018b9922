-- The rows of the fold's upsert running now (fold_write.c): the executor
-- reads them as one tuplestore.  Outside the fold it is an error.  Internal.
CREATE OR REPLACE FUNCTION analytics.fold_rows() RETURNS SETOF record
  LANGUAGE C VOLATILE
  AS 'MODULE_PATHNAME', 'ua_fold_rows';
COMMENT ON FUNCTION analytics.fold_rows() IS
  'The rows of the fold''s upsert running now (internal to fold_range)';
REVOKE ALL ON FUNCTION analytics.fold_rows() FROM PUBLIC;
