CREATE OR REPLACE FUNCTION analytics.require_pg_cron() RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  -- cron.schedule(job_name, schedule, command): name before pg_cron 1.4, text since.
  IF NOT EXISTS (SELECT 1 FROM pg_proc p
                  WHERE p.pronamespace = to_regnamespace('cron') AND p.proname = 'schedule'
                    AND p.pronargs = 3) THEN
    RAISE EXCEPTION 'pg_cron is not installed in this database'
      USING ERRCODE = '55000',
            HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, '
                   'restart, and run CREATE EXTENSION pg_cron.';
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.require_pg_cron() IS 'Raises 55000 with a hint when pg_cron is absent (internal)';
REVOKE ALL ON FUNCTION analytics.require_pg_cron() FROM PUBLIC;
