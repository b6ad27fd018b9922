/*-------------------------------------------------------------------------
 * jobs.sql
 *    Operations: pg_cron scheduling of the jobs, their status and recent
 *    failures, the fold's lag, and the clean-up when the extension is dropped.
 *-------------------------------------------------------------------------
 */

/* ------------------------------------------------------------------------
 * pg_cron scheduling (optional)
 * ------------------------------------------------------------------------ */

\ir functions/job_definitions.sql

\ir functions/require_pg_cron.sql

\ir functions/schedule_jobs.sql

\ir functions/unschedule_jobs.sql

\ir functions/job_status.sql

CREATE VIEW analytics.jobs AS SELECT * FROM analytics.job_status();
COMMENT ON VIEW analytics.jobs IS 'The extension''s scheduled jobs, their schedule and last run (empty schedule without pg_cron)';
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'TABLE', 'analytics.jobs', 'SELECT', true)
  ON CONFLICT DO NOTHING;

/*
 * For operators: how far the fold lags, and the jobs' recent failures.
 */
\ir functions/fold_lag_status.sql
CREATE VIEW analytics.fold_lag AS SELECT * FROM analytics.fold_lag_status();
COMMENT ON VIEW analytics.fold_lag IS
  'How far the rollups lag the raw log: events not yet folded, the oldest one''s recorded_at and age, the last fold';

\ir functions/job_failure_list.sql
CREATE VIEW analytics.job_failures AS SELECT * FROM analytics.job_failure_list();
COMMENT ON VIEW analytics.job_failures IS
  'Failed runs of the extension''s pg_cron jobs in the last 7 days, newest first, with pg_cron''s message';
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'TABLE', 'analytics.fold_lag', 'SELECT', true),
  ('admin', 'TABLE', 'analytics.job_failures', 'SELECT', true)
  ON CONFLICT DO NOTHING;

/*
 * Uninstalling leaves nothing behind.  DROP EXTENSION usage_analytics
 * fires this event trigger first (uninstall.c), which removes what lives
 * outside the extension's objects: the pg_cron jobs and the SET ON
 * PARAMETER grants (DROP ROLE would fail on those).
 */
\ir functions/uninstall_cleanup.sql

\ir functions/on_drop_extension.sql
CREATE EVENT TRIGGER usage_analytics_uninstall ON ddl_command_start
  WHEN TAG IN ('DROP EXTENSION')
  EXECUTE FUNCTION analytics.on_drop_extension();
COMMENT ON EVENT TRIGGER usage_analytics_uninstall IS
  'Cleans up pg_cron jobs and setting grants when usage_analytics is dropped';
