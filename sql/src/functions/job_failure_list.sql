CREATE OR REPLACE FUNCTION analytics.job_failure_list(since timestamptz DEFAULT now() - interval '7 days')
  RETURNS TABLE (job_name text, start_time timestamptz, end_time timestamptz, status text, message text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF to_regclass('cron.job_run_details') IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY EXECUTE $q$
    SELECT j.jobname::text, r.start_time, r.end_time, r.status, r.return_message
      FROM cron.job j JOIN cron.job_run_details r ON r.jobid = j.jobid
     WHERE j.jobname IN (SELECT d.job_name FROM analytics.job_definitions() d)
       AND r.status = 'failed' AND r.start_time >= $1
     ORDER BY r.start_time DESC $q$ USING since;
END
$$;
COMMENT ON FUNCTION analytics.job_failure_list(timestamptz) IS
  'Failed runs of the extension''s pg_cron jobs since a time, newest first (read by analytics.job_failures)';
REVOKE ALL ON FUNCTION analytics.job_failure_list(timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.job_failure_list(timestamptz)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
