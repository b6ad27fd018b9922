# pg_cron end to end: schedule the extension's jobs on a server with pg_cron
# preloaded, let the fold job fire for real, and check the rollups moved.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
$node->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron; CREATE EXTENSION usage_analytics;');

is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.schedule_jobs()'),
	'7', 'schedule_jobs creates the seven jobs');
is($node->safe_psql('postgres',
		q{SELECT to_regclass('analytics.chat_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')) IS NOT NULL}),
	't', 'and this month\'s partition at once');
$node->safe_psql('postgres',
	q(SELECT analytics.schedule_jobs('{"usage_analytics_refresh_views": "*/5 * * * *"}')));
is($node->safe_psql('postgres',
		q(SELECT string_agg(jobname || ' ' || schedule, ', ' ORDER BY jobname) FROM cron.job)),
	'usage_analytics_alerts * * * * *, usage_analytics_billing_warnings */5 * * * *, usage_analytics_expire * * * * *, usage_analytics_fold * * * * *, usage_analytics_partitions 17 3 * * *, usage_analytics_refresh_views */5 * * * *, usage_analytics_retention 37 3 * * *',
	'scheduling again is idempotent and applies a new schedule');

my ($rc, $out, $err) = $node->psql('postgres',
	q(SELECT analytics.schedule_jobs('{"no_such_job": "* * * * *"}')));
like($err, qr/unknown job "no_such_job"/, 'unknown job names are refused');
($rc, $out, $err) = $node->psql('postgres', q(SELECT analytics.schedule_jobs('[1]')));
like($err, qr/schedules must be a JSON object/, 'schedules must be an object');

# Every job, run by pg_cron in a session of its own (a background worker
# that has not loaded the extension's library), succeeds.  The settings the
# jobs read exist only once the library is loaded: a job that read them with
# current_setting() failed on every run.
$node->safe_psql('postgres',
	q(SELECT analytics.schedule_jobs('{"usage_analytics_refresh_views": "* * * * *",
	    "usage_analytics_partitions": "* * * * *", "usage_analytics_retention": "* * * * *",
	    "usage_analytics_billing_warnings": "* * * * *"}')));
$node->safe_psql('postgres',
	q(SELECT count(analytics.record_chat_event('u' || (i % 3), 'gpt-4o', input_tokens => 1, response_time_ms => 100 + i))
	    FROM generate_series(1, 25) i));
is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.rollup_system_models'),
	'0', 'nothing folded before the job runs');
# An alert rule reached by those events: the alerts job writes it once.
$node->safe_psql('postgres',
	q(INSERT INTO analytics.alert_rules (name, metric, threshold) VALUES ('system tokens', 'tokens_per_month', 1)));

ok($node->poll_query_until('postgres',
		'SELECT COALESCE(sum(requests), 0) = 25 FROM analytics.rollup_system_models'),
	'the fold job fired and folded the events');
# The refresh job, in its own session too, follows the fold: the summary
# tables get the folded months and equal their source views.
ok($node->poll_query_until('postgres', q(
		SELECT (SELECT COALESCE(sum(message_count), 0) FROM analytics.mv_user_monthly_summary) = 25
		   AND NOT EXISTS ((TABLE analytics.mv_user_monthly_summary EXCEPT TABLE analytics.user_monthly_summary_source)
		                   UNION ALL
		                   (TABLE analytics.user_monthly_summary_source EXCEPT TABLE analytics.mv_user_monthly_summary)))),
	'the refresh job fired after the fold: the monthly summaries hold the 25 events and equal their source');

# An organization past the requests its plan includes: the billing
# warnings job writes its 80 %, 100 % and overage rows, once each.
$node->safe_psql('postgres', q(
	SELECT analytics.create_organization('acme', 'Acme');
	INSERT INTO analytics.plans (plan_id, name, price_per_month, included_units, overage_unit_price)
	VALUES ('ten', 'Ten', 10, 10, 1);
	SELECT analytics.subscribe(NULL, 'ten', now() - interval '1 day', org_id => 'acme');
	SELECT count(analytics.record_chat_event('m', 'gpt-4o', input_tokens => 1, org_id => 'acme'))
	  FROM generate_series(1, 11);));
ok($node->poll_query_until('postgres',
		q(SELECT last_status = 'succeeded' FROM analytics.jobs WHERE job_name = 'usage_analytics_fold')),
	'analytics.jobs shows the last run');
is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.verify_rollups()'),
	'0', 'rollups folded by the job equal the raw log');
ok($node->poll_query_until('postgres',
		q(SELECT count(*) = 1 FROM analytics.notifications WHERE rule_id IS NOT NULL AND user_id = '')),
	'the alerts job wrote the system-wide alert');

ok($node->poll_query_until('postgres',
		q(SELECT count(*) = 3 FROM analytics.notifications WHERE org_id = 'acme' AND limit_name LIKE 'billing_%')),
	"the billing warnings job wrote the organization's three warnings");

ok($node->poll_query_until('postgres',
		q(SELECT bool_and(last_status IS NOT NULL AND last_status NOT IN ('starting', 'running')) FROM analytics.jobs)),
	'every job ran once through pg_cron');
is($node->safe_psql('postgres',
		q(SELECT string_agg(job_name || ': ' || last_status || ' ' || COALESCE(last_message, ''), '; ' ORDER BY job_name)
		    FROM analytics.jobs WHERE last_status <> 'succeeded')),
	'', 'and each one succeeded');
is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.job_failures'), '0',
	'analytics.job_failures lists no failed run');
is($node->safe_psql('postgres',
		q(SELECT count(*) FROM cron.job_run_details r JOIN cron.job j USING (jobid)
		   WHERE j.jobname LIKE 'usage_analytics%' AND r.status = 'failed')),
	'0', 'pg_cron recorded no failure');

is($node->safe_psql('postgres',
		q(SELECT string_agg(limit_name || ' ' || threshold, ', ' ORDER BY limit_name, threshold)
		    FROM analytics.notifications WHERE org_id = 'acme')),
	'billing_overage:requests 1, billing_warning:requests 0.8, billing_warning:requests 1',
	'once each, however many runs');
is($node->safe_psql('postgres', 'SELECT analytics.unschedule_jobs()'), '7', 'unschedule_jobs removes them');
is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.jobs WHERE scheduled'), '0',
	'no job left');

# Uninstalling leaves no job and no grant behind: DROP EXTENSION removes
# the jobs (which would fail every minute) and the SET grants (which would
# keep DROP ROLE failing).
$node->safe_psql('postgres', q(
	CREATE ROLE app_gone;
	SELECT analytics.grant_app_backend('app_gone');
	SELECT count(*) FROM analytics.schedule_jobs();));
is($node->safe_psql('postgres', q(SELECT count(*) FROM cron.job WHERE jobname LIKE 'usage_analytics%')),
	'7', 'jobs scheduled again');
$node->safe_psql('postgres', 'DROP EXTENSION usage_analytics');
is($node->safe_psql('postgres', q(SELECT count(*) FROM cron.job WHERE jobname LIKE 'usage_analytics%')),
	'0', 'DROP EXTENSION removed the jobs');
($rc, $out, $err) = $node->psql('postgres', 'DROP ROLE app_gone');
is($rc, 0, 'the app backend role can be dropped after the extension') or diag($err);

$node->stop;
done_testing();
