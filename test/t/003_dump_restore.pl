# pg_dump and restore: into another database of the same cluster, and into a
# fresh cluster whose transaction ids are far below the dumped ones.  Every
# data table comes back identical, nothing is counted twice, and the fold
# carries on exactly: verify_rollups is empty before and after new events.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $roles = q{
	CREATE ROLE app LOGIN; CREATE ROLE enduser; CREATE ROLE analyst;
};

my $src = PostgreSQL::Test::Cluster->new('source');
$src->init;
$src->start;
$src->safe_psql('postgres', $roles . q{
	CREATE EXTENSION usage_analytics;
	SELECT analytics.grant_app_backend('app');
	SELECT analytics.grant_end_user('enduser');
	SELECT analytics.grant_admin('analyst');
	INSERT INTO analytics.plans (plan_id, name, monthly_request_limit, enforcement)
	VALUES ('small', 'small', 40, 'hard');
	INSERT INTO analytics.model_prices (provider, model, effective_from, input_per_mtok,
	    cached_input_per_mtok, cache_write_per_mtok, output_per_mtok)
	VALUES ('acme', 'acme-1', '2020-01-01', 1, 0.5, 1, 2);
	INSERT INTO analytics.model_aliases (alias, provider, model) VALUES ('acme-latest', 'acme', 'acme-1');
	SELECT analytics.subscribe('u' || i, CASE WHEN i % 3 = 0 THEN 'small' ELSE 'free' END,
	                           now() - interval '1 year', CASE WHEN i % 2 = 0 THEN 'Asia/Tokyo' ELSE 'UTC' END)
	  FROM generate_series(1, 12) i;
});
# Burn transaction ids so that the source is well ahead of a fresh cluster.
$src->pgbench('--no-vacuum --client=2 --transactions=1500', 0, [qr{processed: 3000/3000}], [qr{^$}],
	'burn xids', { '003_burn' => 'SELECT pg_current_xact_id();' });

# A workload: events over three months (one waiting in the default partition
# until ensure_partitions), feedback, reservations, rejections, a partial fold.
$src->safe_psql('postgres', q{
	SELECT analytics.record_chat_event('u' || (i % 12 + 1), CASE WHEN i % 4 = 0 THEN 'acme-1' ELSE 'gpt-4o-mini' END,
	         provider => CASE WHEN i % 4 = 0 THEN 'acme' ELSE 'openai' END,
	         input_tokens => 100 + i, output_tokens => 10 + i % 50, response_time_ms => 50 + (i * 37) % 900,
	         status => CASE WHEN i % 11 = 0 THEN 'failed' ELSE 'completed' END,
	         conversation_id => 'c' || (i % 30), document_id => 'd' || (i % 7),
	         occurred_at => now() - make_interval(days => i % 70), request_id => 'r' || i)
	  FROM generate_series(1, 600) i;
	INSERT INTO analytics.organizations (org_id, name, slug) VALUES ('acme', 'Acme', 'acme');
	SELECT analytics.create_widget('acme', 'w1', 'map', 'Map');
	SELECT analytics.record_api_request('acme', '/v1/' || (i % 4), 'GET', (ARRAY[200, 304, 404, 503])[1 + i % 4],
	         i % 700, widget_id => CASE WHEN i % 3 = 0 THEN 'w1' END, billable_units => i % 2,
	         api_key_id => 1 + i % 3, occurred_at => now() - make_interval(days => i % 70), request_id => 'a' || i)
	  FROM generate_series(1, 300) i;
	SELECT analytics.ensure_partitions(1);
	SELECT analytics.fold();
	SELECT analytics.record_feedback(e.id, 1 + (e.id % 5)::int) FROM analytics.chat_events e WHERE e.id % 5 = 0;
	-- Billing: invoices of the 'small' subscribers (draft, finalized with
	-- their lines, paid, void), a credit grant consumed.
	UPDATE analytics.plans SET price_per_month = 5 WHERE plan_id = 'small';
	INSERT INTO analytics.plan_charges (plan_id, meter_id, included_units, block_size, block_price)
	VALUES ('small', 'tokens', 1000, 1000, 0.5);
	INSERT INTO analytics.credit_grants (user_id, amount, currency, effective_at) VALUES ('u3', 20, 'USD', '2000-01-01');
	SELECT analytics.generate_invoices();
	SELECT analytics.finalize_invoice(invoice_id) FROM analytics.invoices WHERE invoice_id % 2 = 0 ORDER BY invoice_id;
	SELECT analytics.mark_invoice_paid(min(invoice_id)) FROM analytics.invoices WHERE status = 'finalized';
	SELECT analytics.void_invoice(max(invoice_id)) FROM analytics.invoices WHERE status = 'finalized';
});
$src->safe_psql('postgres', q{
	SELECT analytics.record_chat_event('u' || (i % 12 + 1), 'gpt-4o', input_tokens => i, output_tokens => 3,
	         response_time_ms => i, request_id => 'late' || i)
	  FROM generate_series(1, 200) i;
	SELECT count(*) FROM generate_series(1, 30) g, LATERAL analytics.start_request('u3', 'gpt-4o', 50 + 0 * g);
	SELECT analytics.record_feedback(e.id, 5) FROM analytics.chat_events e WHERE e.request_id = 'late7';
	SELECT (analytics.void_event(e.id, 'refund')).kind FROM analytics.chat_events e WHERE e.request_id = 'r5';
	SELECT (analytics.correct_event(e.id, 'recount', input_tokens => 1)).kind FROM analytics.chat_events e WHERE e.request_id = 'late9';
	SELECT analytics.record_chat_event('u1', 'acme-latest', input_tokens => 5, request_id => 'alias1');
	SELECT analytics.record_chat_event('u2', 'openai/gpt-4o-2024-08-06', input_tokens => 5, request_id => 'dated1');
	SELECT analytics.record_api_request('acme', '/v1/late', 'POST', 200, i, request_id => 'alate' || i)
	  FROM generate_series(1, 50) i;
});

# Everything a restore must bring back, one line per table; the log without
# recorded_xid, which a restore into another cluster renumbers.
my @tables = qw(usage_counters request_keys subscriptions plans model_prices model_aliases notifications
  event_corrections rollup_user_daily rollup_user_monthly rollup_user_models
  rollup_user_categories rollup_documents rollup_system_models rollup_distinct
  organizations widgets api_request_keys rollup_api_daily rollup_widget_daily
  plan_charges credit_grants invoices invoice_lines invoice_number_counters credit_consumptions);
my $fingerprint = q{
	SELECT string_agg(t || ' ' || n || ' ' || h, E'\n' ORDER BY t) FROM (
	  SELECT 'chat_events' t, count(*) n, md5(string_agg(x::text, ',' ORDER BY x.id)) h
	    FROM (SELECT e.id, e.user_id, e.occurred_at, e.usage_date, e.status, e.cost, e.input_tokens, e.output_tokens,
	                 e.feedback_rating, e.reserved_tokens, e.error_code, e.model, e.priced_model FROM analytics.chat_events e) x
	  UNION ALL SELECT 'api_requests', count(*), md5(string_agg(x::text, ',' ORDER BY x.id))
	    FROM (SELECT r.id, r.org_id, r.occurred_at, r.endpoint, r.status_code, r.response_time_ms, r.widget_id,
	                 r.billable_units, r.api_key_id, r.request_id FROM analytics.api_requests r) x
	  UNION ALL SELECT 'fold_state', count(*), string_agg(x.watermark || ' ' || x.events_folded, ',') FROM analytics.fold_state x
	  UNION ALL SELECT 'sequences', 0, (SELECT last_value FROM analytics.chat_events_id_seq) || ' ' ||
	                                  (SELECT last_value FROM analytics.notifications_notification_id_seq) || ' ' ||
	                                  (SELECT last_value FROM analytics.event_corrections_correction_id_seq)
	  UNION ALL SELECT 'acl', 0, string_agg(c.relname || ':' || coalesce(c.relacl::text, ''), ',' ORDER BY c.relname)
	    FROM pg_class c WHERE c.relnamespace = 'analytics'::regnamespace
	  UNION ALL SELECT 'partitions', count(*), string_agg(c.relname, ',' ORDER BY c.relname)
	    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'analytics.chat_events'::regclass
	} . join('', map { qq{
	  UNION ALL SELECT '$_', count(*), md5(string_agg(x::text, ',' ORDER BY x::text)) FROM analytics.$_ x} } @tables)
	. q{
	) s};
my $before = $src->safe_psql('postgres', $fingerprint);
like($before, qr/^chat_events 832 /m, 'the workload recorded 832 events');
like($before, qr/^partitions [3-9] /m, 'the log has monthly partitions besides the default one');
like($before, qr/^event_corrections 2 /m, 'and two corrections');
like($before, qr/^invoice_lines [1-9][0-9]* /m, 'and invoices with their lines');
like($before, qr/^credit_consumptions [1-9][0-9]* /m, 'and credits consumed');

my $dump = $PostgreSQL::Test::Utils::tmp_check . '/usage.dump';
$src->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $src->connstr('postgres')], 'pg_dump');

# Restores must run without a single error (a duplicate fold_state row or a
# partition made twice would be one).
sub restore
{
	my ($node, $db, $name) = @_;
	$node->command_ok(['pg_restore', '--exit-on-error', '-d', $node->connstr($db), $dump], "restore: $name");
	is($node->safe_psql($db, $fingerprint), $before, "$name: every table, sequence, grant and partition is identical");
	is($node->safe_psql($db, 'SELECT count(*) FROM analytics.verify_rollups()'), '0',
		"$name: counters and rollups equal the raw log");
	# New events before and after the first fold are all folded exactly once.
	$node->safe_psql($db, q{
		SELECT analytics.record_chat_event('u1', 'gpt-4o', input_tokens => 9, request_id => 'after-' || i)
		  FROM generate_series(1, 5) i;
		SELECT analytics.record_chat_event('u2', 'gpt-4o', input_tokens => 9, request_id => 'r1');});
	$node->safe_psql($db, 'SELECT analytics.fold()');
	$node->safe_psql($db, q{
		SELECT analytics.record_chat_event('u2', 'gpt-4o', input_tokens => 9, response_time_ms => 10,
		                                   request_id => 'after-' || i) FROM generate_series(1, 5) i;});
	$node->safe_psql($db, 'SELECT analytics.fold()');
	is($node->safe_psql($db, q{
			SELECT count(*) || ' ' || (SELECT sum(requests) FROM analytics.usage_counters)
			  FROM analytics.chat_events WHERE status IN ('completed', 'failed')}),
		'812 812', "$name: new events count once, a retried request id not at all");
	is($node->safe_psql($db, q{
			SELECT (SELECT sum(r.requests) FROM analytics.rollup_user_models r) || ' ' ||
			       (SELECT f.needs_repair FROM analytics.fold_state f)}),
		'812 false', "$name: the model rollups hold every finished event once");
	is($node->safe_psql($db, 'SELECT count(*) FROM analytics.verify_rollups()'), '0',
		"$name: verify_rollups is empty after the fold");
	# API requests too: new ones before and after a fold, a retried request id.
	$node->safe_psql($db, q{
		SELECT analytics.record_api_request('acme', '/v1/new', 'GET', 200, 5, request_id => 'anew' || i)
		  FROM generate_series(1, 5) i;
		SELECT analytics.record_api_request('acme', '/v1/new', 'GET', 200, 5, request_id => 'a1');});
	$node->safe_psql($db, 'SELECT analytics.fold()');
	is($node->safe_psql($db, q{
			SELECT count(*) || ' ' || (SELECT sum(r.requests) FROM analytics.rollup_api_daily r) || ' ' ||
			       (SELECT count(*) FROM analytics.verify_rollups())
			  FROM analytics.api_requests}),
		'355 355 0', "$name: API requests fold once after the restore, a retried request id not at all");
	# The summaries are not dumped: the first refresh builds them again.
	$node->safe_psql($db, 'SELECT analytics.refresh_all_views()');
	is($node->safe_psql($db, q{
			SELECT (SELECT count(*) FROM analytics.mv_user_monthly_summary) > 0,
			       (SELECT count(*) FROM ((TABLE analytics.mv_user_monthly_summary EXCEPT TABLE analytics.user_monthly_summary_source)
			                   UNION ALL (TABLE analytics.user_monthly_summary_source EXCEPT TABLE analytics.mv_user_monthly_summary)) x),
			       (SELECT count(*) FROM ((TABLE analytics.mv_document_popularity EXCEPT TABLE analytics.document_popularity_source)
			                   UNION ALL (TABLE analytics.document_popularity_source EXCEPT TABLE analytics.mv_document_popularity)) x)}),
		't|0|0', "$name: the refreshed summaries equal their sources");
}

# Same cluster, another database: transaction ids keep their meaning.
$src->safe_psql('postgres', 'CREATE DATABASE restored');
restore($src, 'restored', 'same cluster');

# A fresh cluster: its transaction ids are below the dumped watermark.
my $dst = PostgreSQL::Test::Cluster->new('target');
$dst->init;
$dst->start;
$dst->safe_psql('postgres', $roles);
restore($dst, 'postgres', 'fresh cluster');
ok($dst->safe_psql('postgres', 'SELECT analytics.fold_watermark() < 1500'),
	'fresh cluster: the watermark is this cluster\'s again');

# The source is unchanged by all this.
is($src->safe_psql('postgres', $fingerprint), $before, 'the source database is untouched');

$src->stop;
$dst->stop;
done_testing();
