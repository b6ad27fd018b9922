CREATE OR REPLACE FUNCTION analytics.guard_partition(part regclass) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  -- Citus refuses triggers on its tables: on a cluster privileges alone
  -- keep the log append-only (distribute() dropped the guards).
  IF analytics.distributed() THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE TRIGGER chat_events_no_truncate BEFORE TRUNCATE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION analytics.guard_append_only()', part);
  EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER chat_events_no_truncate', part);
END
$$;
COMMENT ON FUNCTION analytics.guard_partition(regclass) IS
  'Makes a partition of chat_events refuse TRUNCATE, in every session_replication_role (internal; nothing on a Citus cluster)';
REVOKE ALL ON FUNCTION analytics.guard_partition(regclass) FROM PUBLIC;
