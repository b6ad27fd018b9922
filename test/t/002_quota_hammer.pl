# pgbench harness: 16 clients hammer one user with hard limits.  Exactly L
# requests (or L token estimates) are admitted, never L+1; so are a
# provider's requests across users (a provider rate limit); retries with the
# same request_id count once; settled, the counters equal the raw log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('hammer');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 50\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION usage_analytics;
	INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_token_limit, enforcement)
	VALUES ('requests37', '37 a day', 37, NULL, 'hard'),
	       ('tokens5000', '5000 tokens', NULL, 5000, 'hard');
	SELECT analytics.subscribe('hot', 'requests37');
	SELECT analytics.subscribe('hot-tokens', 'tokens5000');
	SELECT analytics.subscribe('retry-adm', 'pro');
});

sub hammer
{
	my ($name, $sql, $transactions) = @_;
	$node->pgbench("--no-vacuum --client=16 --jobs=4 --transactions=$transactions",
		0, [qr{processed: @{[16 * $transactions]}/@{[16 * $transactions]}}], [qr{^$}],
		$name, { "002_$name" => $sql });
}

hammer('requests', q{SELECT * FROM analytics.start_request('hot', 'gpt-4o', 10);}, 20);
is($node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE status = 'pending') || ' ' || count(*) FILTER (WHERE status = 'rejected')
		    FROM analytics.chat_events WHERE user_id = 'hot'}),
	'37 283', '16 clients, 320 attempts, limit 37: exactly 37 admitted');

hammer('tokens', q{SELECT * FROM analytics.start_request('hot-tokens', 'gpt-4o', 130);}, 10);
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM analytics.chat_events WHERE user_id = 'hot-tokens' AND status = 'pending'}),
	'38', 'token limit 5000 with estimates of 130: exactly 38 admitted');

# A provider's limit across users (53 a day for google), with the users'
# own limits (5 a day each) and a second limit on the model: 16 clients,
# 40 users, both kinds of lock in every admission.  Exactly 53 admitted,
# no user past 5, no deadlock (every transaction ends without an error).
$node->safe_psql('postgres', q{
	INSERT INTO analytics.plans (plan_id, name, daily_request_limit, enforcement) VALUES ('five', '5 a day', 5, 'hard');
	INSERT INTO analytics.provider_limits (provider, model, requests_per_minute, requests_per_day)
	VALUES ('google', '*', NULL, 53), ('google', 'gemini-2.0-flash', 1000000, NULL);
	SELECT analytics.subscribe('g' || i, 'five') FROM generate_series(1, 40) i;
});
hammer('provider', q{
\set u random(1, 40)
SELECT * FROM analytics.start_request('g' || :u, 'gemini-2.0-flash', 10);
}, 10);
is($node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE status = 'pending') || ' ' ||
		         count(*) FILTER (WHERE status = 'rejected' AND error_code IN ('daily_requests', 'provider_requests_per_day'))
		    FROM analytics.chat_events WHERE user_id LIKE 'g%'}),
	'53 107', '16 clients, 160 attempts of 40 users, provider limit 53 a day: exactly 53 admitted');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM (SELECT user_id FROM analytics.chat_events WHERE user_id LIKE 'g%' AND status = 'pending'
		                         GROUP BY user_id HAVING count(*) > 5) x}),
	'0', 'and no user past its own limit');
is($node->safe_psql('postgres',
		q{SELECT sum(requests) FROM analytics.provider_counters WHERE provider = 'google' AND model = '*' AND period = 'day'}),
	'53', "the provider's window counts the 53");

# Retries: every client sends the same 25 request ids, recorded and admitted.
hammer('retries', q{
\set r random(1, 25)
SELECT analytics.record_chat_event('retry', 'gpt-4o', input_tokens => 7, request_id => 'rec-' || :r);
SELECT * FROM analytics.start_request('retry-adm', 'gpt-4o', 5, request_id => 'adm-' || :r);
}, 25);
is($node->safe_psql('postgres',
		q{SELECT count(*) || ' ' || sum(input_tokens) FROM analytics.chat_events WHERE user_id = 'retry'}),
	'25 175', 'retried recordings are counted once');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM analytics.chat_events WHERE user_id = 'retry-adm'}),
	'25', 'retried admissions reserve once');
is($node->safe_psql('postgres',
		q{SELECT sum(requests) || ' ' || sum(input_tokens) FROM analytics.usage_counters WHERE user_id = 'retry'}),
	'25 175', 'counters equal the log under retries');

# An organization's pooled limit: 16 clients, each a different member of
# one organization (41 requests a month, pooled): exactly 41 admitted,
# every member's admission under the organization's lock, counted over all
# members' slots.  Then the 16 members record at once (no common row): the
# organization's counters equal the raw log.
$node->safe_psql('postgres', q{
	INSERT INTO analytics.plans (plan_id, name, monthly_request_limit, enforcement) VALUES ('org41', '41 a month', 41, 'hard');
	SELECT analytics.create_organization('bigco', 'Big Co', owner_id => 'm1');
	SELECT analytics.add_member('bigco', 'm' || i) FROM generate_series(2, 16) i;
	SELECT analytics.subscribe(NULL, 'org41', now() - interval '1 hour', org_id => 'bigco');
});
hammer('organization', q{
SELECT * FROM analytics.start_request('m' || :client_id + 1, 'gpt-4o', 10, org_id => 'bigco');
}, 20);
is($node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE status = 'pending') || ' ' || count(*) FILTER (WHERE status = 'rejected')
		    FROM analytics.chat_events WHERE org_id = 'bigco'}),
	'41 279',
	'16 members of one organization, 320 attempts, pooled limit 41: exactly 41 admitted');
is($node->safe_psql('postgres',
		q{SELECT sum(pending_requests) || ' ' || sum(rejected) FROM analytics.org_usage_counters
		   WHERE org_id = 'bigco' AND user_id = ''}),
	'41 279', "the organization's pooled counters hold the 41 reservations and 279 refusals");
hammer('org_record', q{
SELECT analytics.record_chat_event('m' || :client_id + 1, 'gpt-4o', input_tokens => 3, org_id => 'bigco');
}, 20);
is($node->safe_psql('postgres',
		q{SELECT sum(requests) || ' ' || sum(input_tokens) || ' ' || (count(DISTINCT slot) > 1)
		    FROM analytics.org_usage_counters WHERE org_id = 'bigco' AND user_id = ''}),
	'320 960 true', '16 members recording at once: the pooled counter, spread over slots, counts all 320');
is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.verify_rollups()'),
	'0', "the organization's counters equal the raw log");

# Settle everything from 16 clients at once.
hammer('settle', q{
SELECT analytics.complete_request(e.id, input_tokens => 5, output_tokens => 5)
  FROM (SELECT id FROM analytics.chat_events WHERE status = 'pending' ORDER BY random() LIMIT 1) e;
}, 10);
$node->safe_psql('postgres', q{
	SELECT analytics.complete_request(id, input_tokens => 5, output_tokens => 5)
	  FROM analytics.chat_events WHERE status = 'pending'});
is($node->safe_psql('postgres',
		q{SELECT sum(pending_requests) || ' ' || sum(pending_tokens) FROM analytics.usage_counters}),
	'0 0', 'no reservation left once all are settled');
$node->safe_psql('postgres', 'SELECT analytics.fold()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM analytics.verify_rollups()'),
	'0', 'counters and rollups equal the raw log');

$node->stop;
done_testing();
