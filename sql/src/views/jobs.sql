CREATE OR REPLACE VIEW analytics.jobs AS SELECT * FROM analytics.job_status();
COMMENT ON VIEW analytics.jobs IS 'The extension''s scheduled jobs, their schedule and last run (empty schedule without pg_cron)';
REVOKE ALL ON analytics.jobs FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'TABLE', 'analytics.jobs', 'SELECT', true)
  ON CONFLICT DO NOTHING;
