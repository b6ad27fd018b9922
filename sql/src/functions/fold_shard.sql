/*
 * On a Citus node: fold one of its shards of chat_events, claiming by sign
 * as fold() describes, with the coordinator's claim value (its negated
 * transaction id, unique in the cluster).  Runs in fold_node()'s
 * transaction for this shard, which commits the claim, the rollups (the
 * colocated shards here, the reference rollups and rollup_org_daily through
 * Citus, in a two-phase commit), the user-months and documents it changed
 * (summary_changes, a reference table) and the shard's fold_shard_state
 * row together.  Returns the events folded, NULL when the shard is not (or no
 * longer) placed on this node.  Internal.
 */
CREATE OR REPLACE FUNCTION analytics.fold_shard(claim bigint, shard bigint) RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n bigint := 0;
  me text;
  events regclass;
  users text[];
  months date[];
  docs text[];
BEGIN
  -- One fold of a shard at a time: its rollup shards are merged into.
  PERFORM pg_advisory_xact_lock(hashtext('usage_analytics.fold_shard'), (shard % 2147483647)::integer);
  -- A move or split of the shard's colocation group takes the shard's
  -- metadata lock exclusively on every node (BlockWritesToShardList) and
  -- holds it until its placements are switched: it waits for this fold to
  -- commit, or this fold waits for it and then finds the shard gone from
  -- this node (the old table stays until Citus cleans it up).
  PERFORM lock_shard_metadata(5, ARRAY[shard]);   -- ShareLock
  IF NOT EXISTS (SELECT 1 FROM pg_dist_placement p
                  WHERE p.shardid = shard
                    AND p.groupid = (SELECT l.groupid FROM pg_dist_local_group l)) THEN
    RETURN NULL;
  END IF;
  events := shard_name('analytics.chat_events'::regclass, shard)::regclass;
  EXECUTE format('UPDATE %s e SET recorded_xid = $1 WHERE e.recorded_xid >= 0 AND e.status IN (''completed'', ''failed'')',
                 events)
    USING claim;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    n := analytics.fold_shard_range(claim, shard);
    -- What refresh_all_views() must rewrite: the user-months and documents
    -- of these events, committed with the fold that changed their rollups.
    EXECUTE format('SELECT array_agg(k.user_id), array_agg(k.month)
                      FROM (SELECT DISTINCT e.user_id, date_trunc(''month'', e.usage_date)::date AS month
                              FROM %s e WHERE e.recorded_xid = $1) k', events)
      INTO users, months USING claim;
    EXECUTE format('SELECT array_agg(DISTINCT e.document_id) FROM %s e
                     WHERE e.recorded_xid = $1 AND e.document_id IS NOT NULL', events)
      INTO docs USING claim;
    INSERT INTO analytics.summary_changes (user_id, month) SELECT * FROM unnest(users, months);
    INSERT INTO analytics.summary_changes (document_id) SELECT * FROM unnest(docs);
  END IF;
  SELECT d.nodename || ':' || d.nodeport INTO me
    FROM pg_dist_node d
   WHERE d.groupid = (SELECT l.groupid FROM pg_dist_local_group l) AND d.noderole = 'primary';
  INSERT INTO analytics.fold_shard_state AS s (shard_id, node, claim, events, folded_at)
  VALUES (shard, COALESCE(me, 'local'), claim, n, clock_timestamp())
  ON CONFLICT (shard_id) DO UPDATE
     SET node = EXCLUDED.node, claim = EXCLUDED.claim, events = EXCLUDED.events,
         folded_at = EXCLUDED.folded_at;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.fold_shard(bigint, bigint) IS
  'Claims and folds the finished events of a local shard of chat_events with the coordinator''s claim value; returns how many, NULL when the shard is not here (internal, Citus)';
REVOKE ALL ON FUNCTION analytics.fold_shard(bigint, bigint) FROM PUBLIC;
