-- The fold in C (fold.c): one pass over the batch, every rollup aggregated
-- in memory, one upsert per rollup.  Same signature, rights and results as
-- the SQL version of 1.0 (tests compare the rollups with the raw log).
CREATE OR REPLACE FUNCTION analytics.fold_range(lo bigint, hi bigint, d_from date, d_to date)
  RETURNS bigint
  LANGUAGE C VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_fold_range';
COMMENT ON FUNCTION analytics.fold_range(bigint, bigint, date, date) IS
  'Folds the finished events of a transaction-id range (and date range) into the rollups (internal)';
REVOKE ALL ON FUNCTION analytics.fold_range(bigint, bigint, date, date) FROM PUBLIC;
