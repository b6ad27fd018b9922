CREATE OR REPLACE FUNCTION analytics.schedule_jobs(schedules jsonb DEFAULT '{}')
  RETURNS TABLE (job_name text, schedule text, jobid bigint)
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  j record;
  bad text;
BEGIN
  PERFORM analytics.require_pg_cron();
  IF schedules IS NULL OR jsonb_typeof(schedules) <> 'object' THEN
    RAISE EXCEPTION 'schedules must be a JSON object of job name to cron schedule' USING ERRCODE = '22023';
  END IF;
  SELECT k INTO bad FROM jsonb_object_keys(schedules) k
   WHERE k NOT IN (SELECT d.job_name FROM analytics.job_definitions() d) LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'unknown job "%"', bad USING ERRCODE = '22023',
      HINT = 'The jobs are listed by analytics.job_definitions().';
  END IF;
  FOR j IN SELECT d.job_name, COALESCE(schedules->>d.job_name, d.default_schedule) AS schedule, d.command
             FROM analytics.job_definitions() d LOOP
    job_name := j.job_name;
    schedule := j.schedule;
    -- cron.schedule(name, ...) replaces a job of the same name: idempotent.
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid USING j.job_name, j.schedule, j.command;
    RETURN NEXT;
  END LOOP;
  -- The partition job runs once a day: make this month's partitions now.
  PERFORM analytics.ensure_partitions(2);
END
$$;
COMMENT ON FUNCTION analytics.schedule_jobs(jsonb) IS
  'Creates or updates the named pg_cron jobs (fold, view refresh, partitions, reservation expiry, retention, alert rules, billing warnings) in this database and creates the monthly partitions now; schedules overrides defaults by job name';
REVOKE ALL ON FUNCTION analytics.schedule_jobs(jsonb) FROM PUBLIC;
