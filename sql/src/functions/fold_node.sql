-- On a Citus node: CALL analytics.fold_node(claim) folds each of its shards
-- of chat_events (fold_shard) in a transaction of its own (fold.c: a C
-- procedure, as a PL/pgSQL one cannot commit with a pinned search_path).
-- fold() runs it on every node holding shards.  Internal.
CREATE OR REPLACE PROCEDURE analytics.fold_node(claim bigint, INOUT folded bigint DEFAULT NULL)
  LANGUAGE C
  AS 'MODULE_PATHNAME', 'ua_fold_node';
COMMENT ON PROCEDURE analytics.fold_node(bigint, bigint) IS
  'Folds each local shard of chat_events in a transaction of its own with the coordinator''s claim value; folded: how many events (internal, Citus)';
REVOKE ALL ON PROCEDURE analytics.fold_node(bigint, bigint) FROM PUBLIC;
