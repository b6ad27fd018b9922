CREATE OR REPLACE FUNCTION analytics.fold() RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w bigint;
  h bigint;
  n bigint;
  repair boolean;
  api bigint;
  nd record;
BEGIN
  -- One fold at a time: a concurrent fold waits here, then starts from the
  -- watermark this one leaves.
  SELECT f.watermark, f.needs_repair INTO w, repair FROM analytics.fold_state f FOR UPDATE;
  -- On a Citus cluster (analytics.distribute() ran) transaction ids are per
  -- node and shards move between nodes: no xid range says which events are
  -- folded.  There the mark is the sign of recorded_xid, and every node's
  -- watermark stays 0: an event is folded when its recorded_xid is below 0,
  -- as fold_watermark() says everywhere.  Each fold claims the finished
  -- events not yet folded by restamping them with a negated transaction id
  -- of the coordinator, h (a row lock each: in-flight writers' rows are not
  -- visible yet and stay for the next fold; feedback and settling
  -- serialize on the row), then folds exactly those.  The mark moves with
  -- the row, so a shard move or rebalance changes nothing.
  --
  -- The fold runs where each shard lives: on every node holding shards of
  -- chat_events, CALL analytics.fold_node(h) (master_run_on_worker: a
  -- connection of its own to each node, in parallel, in autocommit, so it
  -- commits independently of this transaction) folds each local shard in a
  -- transaction of its own (fold_shard): the claim, the aggregation and the
  -- user-keyed rollups on the shard tables there, the reference rollups and
  -- rollup_org_daily through Citus (two-phase commit), the user-months and
  -- documents it changed in summary_changes (a reference table: no
  -- watermark tells refresh_all_views() what a cluster's fold changed), the
  -- shard's fold_shard_state row, all committed together: exactly once per shard,
  -- whatever another shard's fold does.  h is this transaction's id, so no
  -- other fold (here or on any node) has the same claim value.
  IF analytics.distributed() THEN
    -- The coordinator's transaction ids name the folds: one node's only.
    IF (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l) <> 0 THEN
      RAISE EXCEPTION 'on a Citus cluster analytics.fold() runs on the coordinator'
        USING ERRCODE = '55000';
    END IF;
    h := -(pg_current_xact_id()::text::bigint);
    n := 0;
    FOR nd IN
      SELECT m.node_name, m.node_port, m.success, m.result
        FROM (SELECT array_agg(d.nodename ORDER BY d.nodename, d.nodeport) AS names,
                     array_agg(d.nodeport ORDER BY d.nodename, d.nodeport) AS ports,
                     array_agg(format('CALL analytics.fold_node(%s)', h)) AS commands
                FROM (SELECT DISTINCT d.nodename, d.nodeport
                        FROM pg_catalog.pg_dist_shard s
                        JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid
                        JOIN pg_catalog.pg_dist_node d ON d.groupid = p.groupid
                       WHERE s.logicalrelid = 'analytics.chat_events'::regclass
                         AND d.noderole = 'primary' AND d.isactive) d) a,
             pg_catalog.master_run_on_worker(a.names, a.ports, a.commands, true) m
       WHERE a.names IS NOT NULL
    LOOP
      IF nd.success THEN
        n := n + COALESCE(NULLIF(nd.result, '')::bigint, 0);
      ELSE
        -- What that node committed before it stays folded; its other shards
        -- keep their events for the next fold.
        RAISE WARNING 'the fold of the shards on %:% failed: %', nd.node_name, nd.node_port, nd.result;
      END IF;
    END LOOP;
    -- The API requests the same way (their meters read the rollups), here,
    -- in this transaction.
    UPDATE analytics.api_requests r SET recorded_xid = h WHERE r.recorded_xid >= 0;
    GET DIAGNOSTICS api = ROW_COUNT;
    IF api > 0 THEN
      PERFORM analytics.fold_api_requests(h, h + 1, NULL, NULL);
    END IF;
    UPDATE analytics.fold_state SET folded_at = now(), events_folded = events_folded + n;
    RETURN n;
  END IF;
  IF repair THEN
    RETURN analytics.repair_after_restore();
  END IF;
  -- Every transaction below h has ended; the next statements see them all.
  h := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
  IF h <= w THEN
    RETURN 0;
  END IF;
  n := analytics.fold_range(w, h, NULL, NULL);
  -- The API requests of the same range (api_requests.sql).
  PERFORM analytics.fold_api_requests(w, h, NULL, NULL);
  UPDATE analytics.fold_state
     SET watermark = h, folded_at = now(), events_folded = events_folded + n;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.fold() IS
  'Folds the events and API requests recorded since the last fold into the rollups, exactly once; safe with concurrent writers and folds; then records the threshold notifications its events reached that their writers could not see; returns how many chat events';
REVOKE ALL ON FUNCTION analytics.fold() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.fold()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
