# Upgrades: install 1.0, use it (with the current library), update to 1.1,
# and compare the catalog with a fresh 1.1 install: functions with their
# security, search_path, volatility, parallel safety and ACLs; relations
# with ACLs and RLS; columns, constraints, indexes, policies, triggers,
# extension members, dumped tables and every comment.  The update paths have no gap, and a
# dump of the updated database restores with the same privileges.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN; CREATE ROLE enduser; CREATE ROLE analyst; CREATE ROLE both_kinds;
	CREATE DATABASE updated; CREATE DATABASE fresh; CREATE DATABASE restored;});

my $grants = q{
	SELECT analytics.grant_app_backend('app');
	SELECT analytics.grant_end_user('enduser');
	SELECT analytics.grant_admin('analyst');
	SELECT analytics.grant_end_user('both_kinds');
	SELECT analytics.grant_admin('both_kinds');
	SELECT analytics.ensure_partitions(1);};

# 1.0, used through its own SQL against the current library.
$node->safe_psql('updated', q{CREATE EXTENSION usage_analytics VERSION '1.0';} . $grants);
is($node->safe_psql('updated', q{SELECT extversion FROM pg_extension WHERE extname = 'usage_analytics'}),
	'1.0', 'version 1.0 installs');
$node->safe_psql('updated', q{
	SELECT analytics.subscribe('u' || i, 'free', now() - interval '1 month') FROM generate_series(1, 5) i;
	SELECT analytics.record_chat_event('u' || (i % 5 + 1), 'gpt-4o', input_tokens => 10 * i, output_tokens => i,
	         response_time_ms => 20 + i, document_id => 'd' || (i % 3), request_id => 'r' || i,
	         org_id => CASE WHEN i % 10 = 0 THEN 'legacy' END)
	  FROM generate_series(1, 100) i;
	SELECT analytics.fold();
	SELECT analytics.record_feedback(e.id, 4) FROM analytics.chat_events e WHERE e.id % 7 = 0;});
$node->safe_psql('updated', q{
	SELECT count(*) FROM generate_series(1, 3) g, LATERAL analytics.start_request('u1', 'gpt-4o', 5 + 0 * g);
	SELECT analytics.complete_request(e.id, input_tokens => 3) FROM analytics.chat_events e WHERE e.status = 'pending';});
is($node->safe_psql('updated', q{
		SELECT (SELECT allowed FROM analytics.check_quota('u1')) || ' ' ||
		       (SELECT count(*) FROM analytics.chat_events) || ' ' ||
		       (SELECT round(analytics.quantile(analytics.latency_sketch_merge(latency), 0.5)) FROM analytics.rollup_user_daily) || ' ' ||
		       (SELECT (analytics.user_dashboard('u2')->'metrics') IS NOT NULL) || ' ' ||
		       (SELECT count(*) FROM analytics.verify_rollups())}),
	'true 103 71 true 0', 'the 1.0 SQL works against the new library: record, admit, settle, fold, rate, sketches, dashboard');

# Under the 1.0 SQL the new library prices exact names only (no
# model_aliases table, no priced_model column): as 1.0 did.
my ($rc, $out, $err) = $node->psql('updated', q{SELECT analytics.record_chat_event('u1', 'openai/gpt-4o')});
like($err, qr/unknown model "openai\/gpt-4o"/, 'the 1.0 SQL with the new library: a prefixed name is unknown, as in 1.0');

# Events with the labels 1.0 records but does not fold (sessions, intents,
# request types, sections): 20 folded under 1.0, 5 left for the first fold
# of 1.1.
$node->safe_psql('updated', q{
	SELECT count(analytics.record_chat_event('u' || (i % 5 + 1), 'gpt-4o', input_tokens => i, output_tokens => 1,
	         conversation_id => 'c' || (i % 3), session_id => 's' || (i % 4), document_id => 'd' || (i % 3),
	         query_intent => CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END,
	         request_type => CASE WHEN i % 5 = 0 THEN 'chat' END,
	         sections_referenced => ARRAY['s1', 's' || (i % 2)]))
	  FROM generate_series(1, 20) i;
	SELECT analytics.fold();
	SELECT count(analytics.record_chat_event('u1', 'gpt-4o', input_tokens => i, conversation_id => 'late',
	         session_id => 'late', query_intent => 'a', sections_referenced => '{s9}', document_id => 'd0'))
	  FROM generate_series(21, 25) i;});

# (1.1 adds the columns priced_model, model_version, user_query_length,
# ai_response_length, complexity, ip_address and user_agent: NULL on every
# existing event.)
my $new_columns = q{ARRAY['priced_model', 'model_version', 'user_query_length', 'ai_response_length',
                          'complexity', 'ip_address', 'user_agent']};
my $raw_log = qq{SELECT md5(string_agg((to_jsonb(e) - $new_columns)::text, ',' ORDER BY e.id)) FROM analytics.chat_events e};
my $before = $node->safe_psql('updated', $raw_log);
$node->safe_psql('updated', q{ALTER EXTENSION usage_analytics UPDATE TO '1.1'});
# The update adds a log (api_requests) whose monthly partitions the next
# run of ensure_partitions() makes, as the scheduled job does.
$node->safe_psql('updated', q{SELECT analytics.ensure_partitions(1)});
is($node->safe_psql('updated', q{SELECT extversion FROM pg_extension WHERE extname = 'usage_analytics'}),
	'1.1', 'ALTER EXTENSION ... UPDATE reaches 1.1');
is($node->safe_psql('updated', $raw_log),
	$before, 'the raw log is untouched by the update');
is($node->safe_psql('updated', qq{
		SELECT count(*) FROM analytics.chat_events e, jsonb_each(to_jsonb(e)) AS c(k, v)
		 WHERE c.k = ANY ($new_columns) AND c.v <> 'null'::jsonb}),
	'0', 'the columns 1.1 adds are NULL (unknown) on the events recorded before');
# The update gives the rollups of folded events their new figures from the
# raw log: requests by intent (20) and type (4), conversations, sections
# (each event counts a section once: 10 x 2 + 10 x 1), sessions, a document
# day's last use; lengths stay unknown (no 1.0 event has one).  The 5
# events recorded after the 1.0 fold wait for the next fold.
is($node->safe_psql('updated', q{
		SELECT (SELECT sum(requests) FROM analytics.rollup_user_labels) || ' ' ||
		       (SELECT sum(requests) FROM analytics.rollup_system_labels) || ' ' ||
		       (SELECT sum(n) FROM analytics.rollup_conversations, unnest(requests) AS n) || ' ' ||
		       (SELECT sum(requests) FROM analytics.rollup_document_sections) || ' ' ||
		       (SELECT sum(cardinality(items)) FROM analytics.rollup_distinct WHERE scope = 'user_session') || ' ' ||
		       (SELECT count(*) FILTER (WHERE last_used IS NULL) FROM analytics.rollup_documents) || ' ' ||
		       (SELECT sum(query_length_count) FROM analytics.rollup_user_daily) || ' ' ||
		       (SELECT count(*) FROM analytics.user_daily_usage WHERE avg_query_length IS NOT NULL) || ' ' ||
		       (SELECT count(*) FROM analytics.verify_rollups())}),
	'24 24 20 30 20 0 0 0 0', 'the update fills the new figures of folded events from the raw log; verify_rollups agrees');
is($node->safe_psql('updated', q{
		SELECT sum(requests) || ' ' || sum(input_tokens) FROM analytics.org_usage_counters
		 WHERE org_id = 'legacy' AND user_id = ''}),
	'10 5500', "the update counts the 1.0 events with org_id in the organizations' counters");
is($node->safe_psql('updated', q{
		SELECT (analytics.void_event(min(id), 'refund')).kind FROM analytics.chat_events WHERE status = 'completed';
		SELECT count(*) FROM analytics.verify_rollups();}),
	"void\n0", 'a 1.0 event can be voided after the update; rollups follow');
is($node->safe_psql('updated', q{
		SELECT analytics.fold() >= 0;
		SELECT count(analytics.record_chat_event('u' || (i % 5 + 1), 'gpt-4o', input_tokens => i, output_tokens => i,
		         response_time_ms => 30 + i, conversation_id => 'c' || (i % 4), document_id => 'd' || (i % 2)))
		  FROM generate_series(1, 50) i;
		SELECT analytics.fold();
		SELECT count(*) FROM analytics.verify_rollups();}),
	"t\n50\n50\n0", 'the fold of 1.1 (C) carries on from rollups the 1.0 fold (SQL) made');
is($node->safe_psql('updated', q{
		SELECT analytics.record_chat_event('u1', 'openai/gpt-4o-2024-08-06', input_tokens => 1) > 0;
		SELECT e.priced_model || ' ' || e.provider FROM analytics.chat_events e WHERE e.model = 'openai/gpt-4o-2024-08-06';}),
	"t\ngpt-4o openai", 'after the update: a prefixed, dated name prices through the price book');

$node->safe_psql('fresh', q{CREATE EXTENSION usage_analytics;} . $grants);

# The catalog, one line per object, names only (no oids).
my $catalog = q{
	WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'usage_analytics'),
	ns AS (SELECT 'analytics'::regnamespace AS oid)
	SELECT string_agg(line, E'\n' ORDER BY line) FROM (
	  SELECT format('function %s ret=%s kind=%s secdef=%s strict=%s vol=%s par=%s config=%s acl=%s src=%s',
	                p.oid::regprocedure, p.prorettype::regtype, p.prokind, p.prosecdef, p.proisstrict,
	                p.provolatile, p.proparallel, p.proconfig, p.proacl,
	                md5(CASE WHEN p.prokind = 'a' THEN p.prosrc ELSE pg_get_functiondef(p.oid) END)) AS line
	    FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
	  UNION ALL
	  SELECT format('aggregate %s trans=%s final=%s combine=%s ser=%s deser=%s stype=%s',
	                a.aggfnoid::regprocedure, a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
	                a.aggdeserialfn, a.aggtranstype::regtype)
	    FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid, ns WHERE p.pronamespace = ns.oid
	  UNION ALL
	  SELECT format('relation %s kind=%s acl=%s rls=%s force=%s options=%s partition=%s',
	                c.relname, c.relkind, c.relacl, c.relrowsecurity, c.relforcerowsecurity, c.reloptions,
	                c.relispartition)
	    FROM pg_class c, ns WHERE c.relnamespace = ns.oid
	  UNION ALL
	  SELECT format('column %s.%s %s notnull=%s default=%s compression=%s', c.relname, a.attname,
	                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
	                a.attcompression)
	    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum, ns
	   WHERE c.relnamespace = ns.oid AND a.attnum > 0 AND NOT a.attisdropped
	  UNION ALL
	  SELECT format('column order %s: %s', c.relname, string_agg(a.attname, ',' ORDER BY a.attnum))
	    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid, ns
	   WHERE c.relnamespace = ns.oid AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
	   GROUP BY c.relname
	  UNION ALL
	  SELECT format('constraint %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
	    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid, ns WHERE c.relnamespace = ns.oid
	  UNION ALL
	  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
	    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid, ns WHERE c.relnamespace = ns.oid
	  UNION ALL
	  SELECT format('policy %s.%s cmd=%s roles=%s permissive=%s using=%s check=%s',
	                p.tablename, p.policyname, p.cmd, p.roles, p.permissive, p.qual, p.with_check)
	    FROM pg_policies p WHERE p.schemaname = 'analytics'
	  UNION ALL
	  SELECT format('trigger %s.%s %s enabled=%s', c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled)
	    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid, ns WHERE c.relnamespace = ns.oid AND NOT t.tgisinternal
	  UNION ALL
	  SELECT format('type %s', t.oid::regtype) FROM pg_type t, ns WHERE t.typnamespace = ns.oid
	  UNION ALL
	  SELECT format('member %s', pg_describe_object(d.classid, d.objid, d.objsubid))
	    FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
	  UNION ALL
	  SELECT format('dumped %s where=%s', c.relname, x.cond)
	    FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(oid, cond) JOIN pg_class c ON c.oid = x.oid
	   WHERE e.extname = 'usage_analytics'
	  UNION ALL
	  SELECT format('comment %s %s', pg_describe_object(c.classoid, c.objoid, c.objsubid), md5(c.description))
	    FROM pg_description c JOIN pg_depend d ON d.classid = c.classoid AND d.objid = c.objoid, ext
	   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
	  UNION ALL
	  SELECT format('parameter %s acl=%s', p.parname, p.paracl) FROM pg_parameter_acl p
	  UNION ALL
	  SELECT format('access %s %s %s %s', a.kind, a.object_type, a.object_name, a.privilege) FROM analytics.access_list a
	  UNION ALL
	  SELECT format('schema %s owner=%s acl=%s', n.nspname, n.nspowner::regrole, n.nspacl)
	    FROM pg_namespace n, ns WHERE n.oid = ns.oid
	) s};

my $fresh = $node->safe_psql('fresh', $catalog);
my $updated = $node->safe_psql('updated', $catalog);
like($fresh, qr/^function analytics\.void_event\(bigint,text\) .*secdef=t .*config=\{"search_path=pg_catalog, pg_temp"\} acl=\{[^}]*analyst=X/m,
	'the fresh catalog has the 1.1 functions, granted');
like($fresh, qr/^policy event_corrections\.event_corrections_read /m, 'and their policies');
is($updated, $fresh, 'an updated 1.0 has the catalog of a fresh 1.1: functions, ACLs, policies, triggers, members');
if ($updated ne $fresh)
{
	my %f = map { $_ => 1 } split /\n/, $fresh;
	my %u = map { $_ => 1 } split /\n/, $updated;
	diag("only fresh: $_") for grep { !$u{$_} } sort keys %f;
	diag("only updated: $_") for grep { !$f{$_} } sort keys %u;
}

is($node->safe_psql('fresh', q{
		SELECT count(*) FILTER (WHERE path IS NULL) || ' ' || count(*)
		  FROM pg_extension_update_paths('usage_analytics') WHERE source < target}),
	'0 1', 'pg_extension_update_paths: every older version reaches every newer one');

# A dump of the updated database restores with the same privileges, though
# the update's grants are recorded as the extension's initial privileges.
my $dump = $PostgreSQL::Test::Utils::tmp_check . '/updated.dump';
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('updated')], 'dump the updated database');
$node->command_ok(['pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump], 'restore it');
is($node->safe_psql('restored', $catalog), $updated, 'the restored catalog equals the updated one');

$node->stop;
done_testing();
