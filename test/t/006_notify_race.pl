# Threshold notifications under concurrency (issue 11 §3.14): 20 users on a
# soft plan of 10 requests a month, each sent 9 events from 9 concurrent
# connections (every connection sends one event to each user, in
# autocommit).  All 180 events commit and every user reaches 80 %; whatever
# the writers saw, once fold() has run every user has exactly one 80 %
# notification, each announced with NOTIFY usage_analytics once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('notify_race');
$node->init;
# Durable commits, as in production: the window in which a commit is not yet
# visible to the others is what the writers race in.
$node->append_conf('postgresql.conf', "max_connections = 30\nfsync = on\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION usage_analytics;
	INSERT INTO analytics.plans (plan_id, name, monthly_request_limit, enforcement, warn_thresholds)
	VALUES ('ten', 'Ten a month', 10, 'soft', ARRAY[0.8]);
	SELECT analytics.subscribe('n' || g, 'ten') FROM generate_series(1, 20) g;
});

my $script = join('', map {
	"SELECT analytics.record_chat_event('n$_', 'gpt-4o', input_tokens => 1);\n"
} 1 .. 20);
$node->pgbench('--no-vacuum --client=9 --jobs=9 --transactions=1', 0,
	[qr{processed: 9/9}], [qr{^$}], '9 connections send one event to each of 20 users',
	{ '006_events' => $script });

is($node->safe_psql('postgres',
		q{SELECT count(*) || ' ' || count(DISTINCT user_id) || ' ' || min(n) FROM
		    (SELECT user_id, count(*) n FROM analytics.chat_events GROUP BY user_id) e}),
	'20 20 9', 'all 180 events committed, 9 for each user');
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM analytics.notifications');
note("users notified by the writers themselves: $before of 20");

# The fold records what the writers could not see, and announces it.
my $out = $node->safe_psql('postgres', 'LISTEN usage_analytics; SELECT analytics.fold();');
my $announced = () = $out =~ /Asynchronous notification "usage_analytics"/g;
is($node->safe_psql('postgres',
		q{SELECT count(*) || ' ' || count(DISTINCT user_id) FROM analytics.notifications
		   WHERE limit_name = 'monthly_requests' AND threshold = 0.8 AND used >= 8}),
	'20 20', 'every user has its 80 % notification once the fold has run');
is($announced, 20 - $before, 'the fold announced each one it recorded');

# Nothing twice: another fold and another event change nothing.
$out = $node->safe_psql('postgres', q{
	LISTEN usage_analytics;
	SELECT analytics.record_chat_event('n1', 'gpt-4o', input_tokens => 1);
	SELECT analytics.fold();
});
is(scalar(() = $out =~ /Asynchronous notification/g), 0, 'nothing announced twice');
is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.notifications'), '20',
	'one row per user, period and threshold');

$node->stop;
done_testing();
