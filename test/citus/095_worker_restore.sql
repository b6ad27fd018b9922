-- A worker restored from its own, older pg_dump (issue 16; README "Backup
-- and restore on a cluster"): worker 1 is dumped with its shards shown,
-- records more, then is replaced by a fresh server at the same address
-- holding that dump; citus_activate_node() gives it its Citus metadata
-- again, distribute() its cluster functions, rebuild_rollups() the
-- rollups.  What the dump's age lost is lost (the events recorded after
-- it, on that worker's users); the rest is exact again.  Runs last: it
-- replaces worker 1 (the new data directory is where the old one was, so
-- tools/citus-test.sh stops it).

SELECT plan(12);

SELECT count(cron.unschedule(jobid)) >= 0 AS unscheduled FROM cron.job \gset

-- A user whose shards are on worker 1.
SELECT x.u AS wr_user
  FROM (SELECT 'wr' || g AS u, g FROM generate_series(1, 100) g) x
 WHERE EXISTS (SELECT 1 FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                WHERE p.shardid = get_shard_id_for_distribution_column('analytics.chat_events', x.u)
                  AND n.nodeport = :worker1_port)
 ORDER BY x.g LIMIT 1 \gset
SELECT analytics.record_chat_event(user_id => :'wr_user', model => 'gpt-4o', input_tokens => 70, output_tokens => 7,
                                   document_id => 'wrdoc') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => :'wr_user', model => 'gpt-4o', input_tokens => 70, output_tokens => 7,
                                   document_id => 'wrdoc') > 0 AS ok \gset
SELECT analytics.fold() >= 2 AS folded \gset

\setenv UA_BINDIR :bindir
\setenv UA_SCRATCH :scratch
\setenv UA_DB :DBNAME
\setenv UA_W1 :worker1_port
\set w1_dump_rc `PGOPTIONS='-c citus.show_shards_for_app_name_prefixes=pg_dump -c citus.enable_manual_changes_to_shards=on' "$UA_BINDIR/pg_dump" -h 127.0.0.1 -p "$UA_W1" -d "$UA_DB" -Fc -f "$UA_SCRATCH/worker1-restore.dump" 2>"$UA_SCRATCH/worker1-restore.dump.err"; echo $?`

-- After the dump: three more events of that user, folded (into its
-- rollups on worker 1 and into the reference rollups on every node).
SELECT analytics.record_chat_event(user_id => :'wr_user', model => 'gpt-4o', input_tokens => 70, output_tokens => 7,
                                   document_id => 'wrdoc') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => :'wr_user', model => 'gpt-4o', input_tokens => 70, output_tokens => 7,
                                   document_id => 'wrdoc') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => :'wr_user', model => 'gpt-4o', input_tokens => 70, output_tokens => 7,
                                   document_id => 'wrdoc') > 0 AS ok \gset
SELECT analytics.fold() >= 3 AS folded \gset

-- Users whose counters differ from the log by a naive sum (voids and
-- corrections of earlier files): the restore must not change the list.
\set mismatch_query 'SELECT COALESCE(string_agg(user_id, $$,$$ ORDER BY user_id), $$$$) FROM (SELECT user_id, count(*) FILTER (WHERE status <> $$pending$$) AS n, COALESCE(sum(input_tokens) FILTER (WHERE status <> $$pending$$), 0) AS i FROM analytics.chat_events GROUP BY user_id) l FULL JOIN (SELECT user_id, sum(requests) AS n, sum(input_tokens) AS i FROM analytics.usage_counters GROUP BY user_id) c USING (user_id) WHERE (l.n, l.i) IS DISTINCT FROM (c.n, c.i)'
SELECT pg_temp.try(:'mismatch_query') AS mismatch_before \gset
\set w1_globals `"$UA_BINDIR/pg_dumpall" -h 127.0.0.1 -p "$UA_W1" --globals-only >"$UA_SCRATCH/worker1-globals.sql" 2>/dev/null; echo $?`

-- Worker 1 replaced: a fresh server, same port and settings, its roles,
-- the dump.
\! D="$UA_SCRATCH/worker1"; "$UA_BINDIR/pg_ctl" -D "$D" -m fast -w stop >/dev/null && mv "$D" "$D.before-restore" && "$UA_BINDIR/initdb" -D "$D" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$D.restore-initdb.log" 2>&1 && cp "$D.before-restore/postgresql.conf" "$D.before-restore/pg_hba.conf" "$D/" && "$UA_BINDIR/pg_ctl" -D "$D" -l "$D.restored.log" -w start >/dev/null && "$UA_BINDIR/psql" -X -q -h 127.0.0.1 -p "$UA_W1" -d postgres -c "CREATE DATABASE $UA_DB"
\set w1_globals_rc `"$UA_BINDIR/psql" -X -q -h 127.0.0.1 -p "$UA_W1" -d postgres -f "$UA_SCRATCH/worker1-globals.sql" >"$UA_SCRATCH/worker1-globals.log" 2>&1; echo $?`
\set w1_restore_rc `"$UA_BINDIR/pg_restore" -h 127.0.0.1 -p "$UA_W1" -d "$UA_DB" "$UA_SCRATCH/worker1-restore.dump" >"$UA_SCRATCH/worker1-restore.log" 2>&1; echo $?`
\! sed 's/^/# restore: /' "$UA_SCRATCH/worker1-restore.log" | head -n 20

-- 1-2
SELECT is(:'w1_globals' || ' ' || :'w1_dump_rc', '0 0', 'pg_dumpall --globals-only and pg_dump of worker 1 with its shards shown succeed');
SELECT is(:'w1_globals_rc' || ' ' || :'w1_restore_rc', '0 0', 'and restore into a fresh server at its address');

-- citus_activate_node: the first statement to use the coordinator's
-- cached connection to the old server fails on it, so it is called again.
SELECT pg_temp.try(format($$SELECT citus_activate_node('127.0.0.1', %s)::text$$, :worker1_port)) AS activate1 \gset
SELECT pg_temp.try(format($$SELECT citus_activate_node('127.0.0.1', %s)::text$$, :worker1_port)) AS activate2 \gset
SELECT (SELECT result FROM run_command_on_workers('SELECT groupid FROM pg_catalog.pg_dist_local_group')
         WHERE nodeport = :worker1_port) AS w1_group \gset
SELECT count(*) AS wr_events FROM analytics.chat_events WHERE user_id = :'wr_user' \gset

-- 3-6: its metadata again; the restored shards are one snapshot of worker 1: its users' log,
-- counters and rollups agree; the three events recorded after the dump
-- are gone, and the reference rollups still count them.
SELECT is(:'w1_group'::text, (SELECT groupid::text FROM pg_dist_node WHERE nodeport = :worker1_port),
          'citus_activate_node() gives the restored worker its metadata again (its node group)');
SELECT is(:wr_events::bigint, 2::bigint,
          'the user''s log is the dump''s: two events (the three recorded after it are lost)');
SELECT pg_temp.try(:'mismatch_query') AS mismatch_after \gset
SELECT is(:'mismatch_after'::text, :'mismatch_before'::text,
          'the counters agree with the raw log as before, user by user');
SELECT cmp_ok((SELECT count(*)::int FROM analytics.verify_rollups()), '>', 0,
              'verify_rollups shows the reference rollups still counting the lost events');

-- 7-8: distribute() again gives the restored worker the cluster's read
-- functions: a read of that user pushed to it answers.
SELECT is(analytics.distribute(), 0, 'distribute() again converts nothing');
SELECT is(pg_temp.try(format($$SELECT count(*)::text FROM analytics.user_daily_usage WHERE user_id = %L$$, :'wr_user')),
          '1', 'a read of the user pushed to the restored worker answers (user_daily_usage)');

-- 9-12: rebuild_rollups makes the rollups equal the log; the write path
-- and the fold work on the restored worker.
SELECT ok(analytics.rebuild_rollups((SELECT min(usage_date) FROM analytics.chat_events),
                                    (SELECT max(usage_date) FROM analytics.chat_events)) >= 0,
          'rebuild_rollups over the log''s days');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0, 'then verify_rollups is empty');
SELECT analytics.record_chat_event(user_id => :'wr_user', model => 'gpt-4o', input_tokens => 70, output_tokens => 7,
                                   document_id => 'wrdoc') > 0 AS ok \gset
SELECT is(analytics.fold(), 1::bigint, 'an event recorded on the restored worker is folded once');
SELECT is((SELECT sum(requests) FROM analytics.rollup_system_models),
          (SELECT count(*) FROM analytics.chat_events WHERE status IN ('completed', 'failed'))::numeric,
          'rollup_system_models counts every finished event once');

SELECT * FROM finish();
