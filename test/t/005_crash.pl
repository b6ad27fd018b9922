# Crash safety: clients record events, admit and settle requests and fold
# while the server is stopped with an immediate shutdown (no checkpoint, as
# after a crash).  After recovery every acknowledged event is there, the
# counters equal the raw log, reservations match pending events and the
# rollups verify.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "fsync = on\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION usage_analytics;
	SELECT analytics.ensure_partitions(1);
	INSERT INTO analytics.plans (plan_id, name, daily_request_limit, enforcement)
	VALUES ('d500', '500 a day', 500, 'hard');
	SELECT analytics.subscribe('adm', 'd500');});

# Each client runs a long script and acknowledges each commit on stdout.
my $per_client = 20000;
my (@handles, @outs);
for my $k (1 .. 4)
{
	my $file = "$PostgreSQL::Test::Utils::tmp_check/client$k.sql";
	open my $fh, '>', $file or die "cannot write $file: $!";
	for my $i (1 .. $per_client)
	{
		if ($k == 4)
		{
			# Admission: reserve, then settle every other request.
			print $fh "SELECT analytics.start_request('adm', 'gpt-4o', 5, request_id => 'a$i');\n";
			print $fh "SELECT analytics.complete_request(user_id => 'adm', request_id => 'a$i', input_tokens => 4);\n"
			  if $i % 2 == 0;
			print $fh "\\echo ack a$i\n";
		}
		else
		{
			print $fh "SELECT analytics.record_chat_event('c$k-' || ($i % 7), 'gpt-4o-mini', input_tokens => $i % 300,"
			  . " output_tokens => 7, response_time_ms => $i % 900, request_id => 'c$k-$i');\n";
			print $fh "SELECT analytics.fold();\n" if $k == 1 && $i % 200 == 0;
			print $fh "\\echo ack c$k-$i\n";
		}
	}
	close $fh;
	my $out = '';
	push @outs, \$out;
	push @handles, IPC::Run::start(
		[ 'psql', '-X', '-q', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', $file ],
		'>', \$out, '2>', \my $err);
}

# Let the load run, then stop the server the hard way.
sleep 4;
$node->stop('immediate');
$_->finish for @handles;

my @acked = map { /^ack (\S+)$/mg } map { $$_ } @outs;
my $acked_admissions = grep { /^a/ } @acked;
ok(@acked > 200, 'clients had their commits acknowledged (' . scalar(@acked) . ')');
ok(@acked < 4 * $per_client, 'the server stopped mid-load');
ok($acked_admissions > 10, "admissions were acknowledged ($acked_admissions)");

$node->start;
my $ids = join(',', map { "('$_')" } @acked);
is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM (VALUES $ids) AS a(id)
		 WHERE NOT EXISTS (SELECT 1 FROM analytics.chat_events e WHERE e.request_id = a.id)}),
	'0', 'every acknowledged event survived the crash');
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM analytics.chat_events e
		 WHERE NOT EXISTS (SELECT 1 FROM analytics.request_keys k WHERE k.user_id = e.user_id AND k.request_id = e.request_id)}),
	'0', 'every event has its idempotency key');
is($node->safe_psql('postgres', q{
		WITH raw AS (
		  SELECT user_id, usage_date, count(*) FILTER (WHERE status IN ('completed', 'failed')) AS r,
		         COALESCE(sum(input_tokens) FILTER (WHERE status IN ('completed', 'failed')), 0) AS t,
		         count(*) FILTER (WHERE status = 'pending') AS p,
		         COALESCE(sum(reserved_tokens) FILTER (WHERE status = 'pending'), 0) AS pt,
		         count(*) FILTER (WHERE status = 'rejected') AS x
		    FROM analytics.chat_events GROUP BY 1, 2),
		counted AS (
		  SELECT user_id, usage_date, sum(requests), sum(input_tokens), sum(pending_requests), sum(pending_tokens), sum(rejected)
		    FROM analytics.usage_counters GROUP BY 1, 2
		  HAVING sum(requests) + sum(pending_requests) + sum(rejected) > 0)
		SELECT count(*) FROM ((TABLE raw EXCEPT TABLE counted) UNION ALL (TABLE counted EXCEPT TABLE raw)) d}),
	'0', 'counters, reservations and rejections equal the raw log');
is($node->safe_psql('postgres', q{
		SELECT count(*) FILTER (WHERE status IN ('pending', 'completed')) <= 500
		  FROM analytics.chat_events WHERE user_id = 'adm'}),
	't', 'the daily limit held across the crash');
is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.verify_rollups()'), '0',
	'the rollups folded before the crash equal the raw log');
$node->safe_psql('postgres', 'SELECT analytics.fold()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.verify_rollups()'), '0',
	'and so do they after folding the rest');
is($node->safe_psql('postgres', q{
		SELECT analytics.record_chat_event('c1-1', 'gpt-4o-mini', request_id => 'after-crash') > 0}),
	't', 'recording goes on');

$node->stop;
done_testing();
