-- True once analytics.distribute() made this a Citus cluster (chat_events
-- is a distributed table); false without Citus.  Internal.
CREATE OR REPLACE FUNCTION analytics.distributed() RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  -- Two statements: without Citus the second could not even be planned.
  IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
    RETURN false;
  END IF;
  RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                  WHERE p.logicalrelid = 'analytics.chat_events'::regclass);
END
$$;
COMMENT ON FUNCTION analytics.distributed() IS
  'True once analytics.distribute() made this a Citus cluster (chat_events distributed; internal)';
REVOKE ALL ON FUNCTION analytics.distributed() FROM PUBLIC;
