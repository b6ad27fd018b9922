CREATE OR REPLACE FUNCTION analytics.index_partition(part regclass) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (user_id, occurred_at, id)', part);
  EXECUTE format('CREATE INDEX ON %s (id)', part);
  -- The fold reads new events by transaction id; dashboards read a user's
  -- not yet folded events.
  EXECUTE format('CREATE INDEX ON %s USING brin (recorded_xid)', part);
  EXECUTE format('CREATE INDEX ON %s (user_id, recorded_xid)', part);
  -- Reservations waiting to be settled or expired.
  EXECUTE format('CREATE INDEX ON %s (occurred_at) WHERE status = ''pending''', part);
  PERFORM analytics.index_partition_lookups(part);
  PERFORM analytics.guard_partition(part);
END
$$;
COMMENT ON FUNCTION analytics.index_partition(regclass) IS
  'Creates the primary key, indexes and TRUNCATE guard of a partition of chat_events (internal)';
REVOKE ALL ON FUNCTION analytics.index_partition(regclass) FROM PUBLIC;
