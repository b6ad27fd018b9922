CREATE OR REPLACE VIEW analytics.job_failures AS SELECT * FROM analytics.job_failure_list();
COMMENT ON VIEW analytics.job_failures IS
  'Failed runs of the extension''s pg_cron jobs in the last 7 days, newest first, with pg_cron''s message';
REVOKE ALL ON analytics.job_failures FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'TABLE', 'analytics.job_failures', 'SELECT', true)
  ON CONFLICT DO NOTHING;
