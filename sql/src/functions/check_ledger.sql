-- The write path's check of a request's token ledger and cost, for SQL
-- callers (corrections): the same C code (validate.c), so the limits and
-- rules live in one place.  A NULL count is 0; a NULL cost is not checked.
CREATE OR REPLACE FUNCTION analytics.check_ledger(input_tokens bigint, cached_input_tokens bigint,
    cache_write_tokens bigint, output_tokens bigint, reasoning_tokens bigint, cost numeric)
  RETURNS void
  LANGUAGE C IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_check_ledger_sql';
COMMENT ON FUNCTION analytics.check_ledger(bigint, bigint, bigint, bigint, bigint, numeric) IS
  'Raises 22023 unless the token counts are within limits, reasoning is part of output and the cost is a finite amount within limits (internal)';
REVOKE ALL ON FUNCTION analytics.check_ledger(bigint, bigint, bigint, bigint, bigint, numeric) FROM PUBLIC;
