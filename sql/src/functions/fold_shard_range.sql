-- On a Citus node, the fold of one local shard of chat_events (fold.c):
-- its events marked with claim, read from the shard table; the user-keyed
-- rollups merged into their colocated shards here, the others through
-- Citus.  fold_shard() calls it after claiming.  Internal.
CREATE OR REPLACE FUNCTION analytics.fold_shard_range(claim bigint, shard bigint)
  RETURNS bigint
  LANGUAGE C VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_fold_shard_range';
COMMENT ON FUNCTION analytics.fold_shard_range(bigint, bigint) IS
  'Folds the events of a local shard of chat_events marked with a claim into the rollups, the colocated ones on this node (internal, Citus)';
REVOKE ALL ON FUNCTION analytics.fold_shard_range(bigint, bigint) FROM PUBLIC;
