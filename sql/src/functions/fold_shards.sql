/*
 * The last fold of each shard of chat_events on a Citus cluster: the node
 * it ran on (host:port), its claim (the coordinator's negated transaction
 * id of that fold), the events it folded and when.  Read from every node's
 * fold_shard_state (a shard moved since keeps its older row on the node it
 * left; the latest wins).  Empty on a single node.
 */
CREATE OR REPLACE FUNCTION analytics.fold_shards()
  RETURNS TABLE (shard_id bigint, node text, claim bigint, events bigint, folded_at timestamptz)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NOT analytics.distributed() THEN
    RETURN;
  END IF;
  RETURN QUERY
  SELECT DISTINCT ON (x.shard_id) x.shard_id, x.node, x.claim, x.events, x.folded_at
    FROM run_command_on_all_nodes(
           'SELECT COALESCE(json_agg(s), ''[]'') FROM analytics.fold_shard_state s') r,
         json_to_recordset(CASE WHEN r.success THEN r.result::json ELSE '[]' END)
           AS x(shard_id bigint, node text, claim bigint, events bigint, folded_at timestamptz)
   WHERE x.shard_id IN (SELECT s.shardid FROM pg_dist_shard s
                         WHERE s.logicalrelid = 'analytics.chat_events'::regclass)
   ORDER BY x.shard_id, x.folded_at DESC;
END
$$;
COMMENT ON FUNCTION analytics.fold_shards() IS
  'On a Citus cluster: each shard of chat_events with the node its last fold ran on, the claim value, the events it folded and when';
REVOKE ALL ON FUNCTION analytics.fold_shards() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.fold_shards()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
