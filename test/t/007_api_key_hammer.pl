# pgbench harness for API-key rate limits: 8 clients on one key with a
# limit of N a minute get exactly N admitted, never N+1, and every refusal
# is logged as rate_limited; the same for an hourly limit, and for 8
# clients over 4 keys (each key exactly its limit).  Runs start at least
# 40 seconds before the end of a UTC minute, so that every attempt falls
# in one minute window (and one hour window).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $node = PostgreSQL::Test::Cluster->new('keys');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 50\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION usage_analytics;
	INSERT INTO analytics.organizations (org_id, name, slug) VALUES ('acme', 'Acme', 'acme');
	CREATE TABLE keys AS
	  SELECT 'minute' AS k, * FROM analytics.create_api_key('acme', 'minute', rate_limit_per_minute => 37)
	  UNION ALL
	  SELECT 'hour', * FROM analytics.create_api_key('acme', 'hour', rate_limit_per_minute => 100000, rate_limit_per_hour => 53)
	  UNION ALL
	  SELECT 'many' || i, c.* FROM generate_series(1, 4) i, LATERAL analytics.create_api_key('acme', 'many' || i, rate_limit_per_minute => 11) c;
	CREATE TABLE answers (k text, allowed boolean, status text);
});

# Wait, if needed, until at least 40 seconds of the current minute remain.
sub early_in_minute
{
	my $s = time() % 60;
	sleep(61 - $s) if $s > 20;
}

sub hammer
{
	my ($name, $sql, $transactions) = @_;
	early_in_minute();
	$node->pgbench("--no-vacuum --client=8 --jobs=4 --transactions=$transactions",
		0, [qr{processed: @{[8 * $transactions]}/@{[8 * $transactions]}}], [qr{^$}],
		$name, { "007_$name" => $sql });
}

sub answers
{
	my ($k) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FILTER (WHERE allowed) || ' ' || count(*) FILTER (WHERE status = 'rate_limited')
		  FROM answers WHERE k = '$k'});
}

hammer('minute', q{
INSERT INTO answers SELECT 'minute', a.allowed, a.status
  FROM keys, analytics.authorize_api_request(keys.api_key) a WHERE keys.k = 'minute';
}, 40);
is(answers('minute'), '37 283', '8 clients, 320 attempts on one key, 37 a minute: exactly 37 admitted, 283 rate_limited');
is($node->safe_psql('postgres', q{
	SELECT sum(c.requests) || ' ' || (SELECT sum(refused) FROM analytics.api_key_rate_limited r WHERE r.key_id = keys.key_id)
	  FROM keys JOIN analytics.api_key_counters c USING (key_id) WHERE keys.k = 'minute' GROUP BY keys.key_id}),
	'37 283', 'the counters hold the 37, the refusal log the 283');

hammer('hour', q{
INSERT INTO answers SELECT 'hour', a.allowed, a.status
  FROM keys, analytics.authorize_api_request(keys.api_key) a WHERE keys.k = 'hour';
}, 20);
is(answers('hour'), '53 107', '8 clients, 160 attempts, 53 an hour: exactly 53 admitted');

hammer('many', q{
\set i random(1, 4)
INSERT INTO answers SELECT keys.k, a.allowed, a.status
  FROM keys, analytics.authorize_api_request(keys.api_key) a WHERE keys.k = 'many' || :i;
}, 25);
is($node->safe_psql('postgres', q{
	SELECT string_agg(k || '=' || n, ' ' ORDER BY k)
	  FROM (SELECT k, count(*) FILTER (WHERE allowed) AS n FROM answers WHERE k LIKE 'many%' GROUP BY k) x}),
	'many1=11 many2=11 many3=11 many4=11', '8 clients over 4 keys of 11 a minute: exactly 11 each');
is($node->safe_psql('postgres', q{SELECT count(*) FROM answers}), '680', 'every attempt answered, none failed');

$node->stop;
done_testing();
