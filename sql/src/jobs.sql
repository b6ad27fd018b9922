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

\ir views/jobs.sql

/*
 * For operators: how far the fold lags, and the jobs' recent failures.
 */
\ir functions/fold_lag_status.sql
\ir views/fold_lag.sql

\ir functions/job_failure_list.sql
\ir views/job_failures.sql

/*
 * Scale-out: one call, on a Citus coordinator, distributes the extension
 * (README "Scaling out with Citus").
 */
\ir functions/distribute.sql

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

