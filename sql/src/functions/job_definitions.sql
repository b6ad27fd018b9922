CREATE OR REPLACE FUNCTION analytics.job_definitions(OUT job_name text, OUT default_schedule text, OUT command text)
  RETURNS SETOF record
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  BEGIN ATOMIC
    VALUES ('usage_analytics_fold', '* * * * *', 'SELECT analytics.fold()'),
           ('usage_analytics_refresh_views', '*/10 * * * *', 'SELECT analytics.refresh_all_views()'),
           ('usage_analytics_partitions', '17 3 * * *', 'SELECT analytics.ensure_partitions(2)'),
           ('usage_analytics_expire', '* * * * *', 'SELECT analytics.expire_reservations()'),
           ('usage_analytics_retention', '37 3 * * *', 'SELECT analytics.apply_retention()'),
           ('usage_analytics_alerts', '* * * * *', 'SELECT analytics.evaluate_alerts()'),
           ('usage_analytics_billing_warnings', '*/5 * * * *', 'SELECT analytics.evaluate_billing_warnings()');
  END;
COMMENT ON FUNCTION analytics.job_definitions() IS
  'The scheduled jobs of the extension: name, default cron schedule, command';
REVOKE ALL ON FUNCTION analytics.job_definitions() FROM PUBLIC;
