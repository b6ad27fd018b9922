CREATE OR REPLACE FUNCTION analytics.unschedule_jobs() RETURNS integer
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n integer := 0;
  j record;
BEGIN
  PERFORM analytics.require_pg_cron();
  FOR j IN EXECUTE 'SELECT c.jobname FROM cron.job c WHERE c.jobname IN (SELECT d.job_name FROM analytics.job_definitions() d)' LOOP
    EXECUTE 'SELECT cron.unschedule($1)' USING j.jobname;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.unschedule_jobs() IS 'Removes the extension''s pg_cron jobs; returns how many';
REVOKE ALL ON FUNCTION analytics.unschedule_jobs() FROM PUBLIC;
