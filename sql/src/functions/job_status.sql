-- With the owner's rights: cron.job shows a role its own jobs only.
CREATE OR REPLACE FUNCTION analytics.job_status()
  RETURNS TABLE (job_name text, command text, scheduled boolean, schedule text, active boolean,
                 last_start timestamptz, last_end timestamptz, last_status text, last_message text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF to_regclass('cron.job') IS NULL THEN
    RETURN QUERY SELECT d.job_name, d.command, false, NULL::text, NULL::boolean, NULL::timestamptz,
                        NULL::timestamptz, NULL::text, NULL::text
                   FROM analytics.job_definitions() d;
    RETURN;
  END IF;
  RETURN QUERY EXECUTE $q$
    SELECT d.job_name, d.command, j.jobid IS NOT NULL, j.schedule, j.active,
           r.start_time, r.end_time, r.status, r.return_message
      FROM analytics.job_definitions() d
      LEFT JOIN cron.job j ON j.jobname = d.job_name
      LEFT JOIN LATERAL (SELECT x.start_time, x.end_time, x.status, x.return_message
                           FROM cron.job_run_details x WHERE x.jobid = j.jobid
                          ORDER BY x.start_time DESC NULLS LAST LIMIT 1) r ON true
     ORDER BY d.job_name $q$;
END
$$;
COMMENT ON FUNCTION analytics.job_status() IS 'The extension''s jobs with their pg_cron schedule and last run';
REVOKE ALL ON FUNCTION analytics.job_status() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.job_status()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
