-- Backup and restore of a distributed install (issue 16), on the cluster
-- the earlier files filled (folded events, corrections, API requests) plus
-- a few events not folded yet.
--
-- A pg_dump of the coordinator: Citus answers pg_dump's COPY of every
-- distributed and reference table from the shards, so the dump holds the
-- whole cluster's rows in the tables' own names (no shard, no Citus
-- metadata).  Restored into a fresh server (citus and pg_cron preloaded, no
-- worker) it is a single-node install: the log and the counters equal the
-- cluster's, the first fold() repairs the restore (another system) and the
-- rollups equal the cluster's.  Given a fresh worker and distribute()
-- again, the next fold folds the whole log once (the events folded on the
-- old cluster included: their negative recorded_xid is cleared).  A plain
-- pg_dump of a worker holds no shard (Citus hides them from applications).
-- The extra servers run in the suite's scratch directory as extra-*;
-- tools/citus-test.sh stops them on exit too.

SELECT plan(18);

-- Nothing scheduled folds behind this file's back.
SELECT count(cron.unschedule(jobid)) >= 0 AS unscheduled FROM cron.job \gset

-- Some events not folded yet, delegated and through the coordinator.
SELECT analytics.record_chat_event(user_id => 'bk1', model => 'gpt-4o-mini', input_tokens => 11, output_tokens => 1,
                                   document_id => 'bkdoc') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'bk2', model => 'gpt-4o', input_tokens => 22, output_tokens => 2) > 0 AS ok \gset
BEGIN;
SELECT analytics.record_chat_event(user_id => 'bk3', model => 'gpt-4o-mini', input_tokens => 33, output_tokens => 3) > 0 AS ok \gset
COMMIT;

\setenv UA_BINDIR :bindir
\setenv UA_SCRATCH :scratch
\setenv UA_DB :DBNAME
\setenv UA_COORD :coordinator_port
\setenv UA_W1 :worker1_port
SELECT :coordinator_port + 10 AS r_port, :coordinator_port + 11 AS rw_port \gset
\setenv UA_R :r_port
\setenv UA_RW :rw_port

-- What the log and the counters say, and what the rollups say after a
-- fold: the same queries on the cluster and on the restored server.
\! printf '%s\n' 'SELECT concat_ws($$ $$, (SELECT count(*) FROM analytics.chat_events), (SELECT count(*) FROM analytics.chat_events WHERE status IN ($$completed$$, $$failed$$)), (SELECT sum(input_tokens + output_tokens) FROM analytics.chat_events WHERE status IN ($$completed$$, $$failed$$)), (SELECT count(*) FROM analytics.api_requests), (SELECT count(*) FROM analytics.event_corrections), (SELECT sum(requests) || $$/$$ || sum(input_tokens) || $$/$$ || sum(cost) FROM analytics.usage_counters), (SELECT count(DISTINCT user_id) FROM analytics.usage_counters), (SELECT count(*) || $$/$$ || sum(total) FROM analytics.invoices))' >"$UA_SCRATCH/log-figures.sql"
\! printf '%s\n' 'SELECT concat_ws($$ $$, (SELECT sum(requests) FROM analytics.rollup_user_models), (SELECT sum(requests) FROM analytics.rollup_system_models), (SELECT sum(cost) FROM analytics.rollup_user_models), (SELECT sum(requests) || $$/$$ || sum(tokens_total) FROM analytics.rollup_documents), (SELECT count(*) FROM analytics.rollup_conversations), (SELECT sum(requests) FROM analytics.rollup_api_daily), (SELECT count(*) FROM analytics.verify_rollups()))' >"$UA_SCRATCH/rollup-figures.sql"

\set c_log `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_COORD" -d "$UA_DB" -f "$UA_SCRATCH/log-figures.sql"`

-- 1-4: pg_dump of the coordinator succeeds and holds the tables' rows in
-- their own names: no shard, no Citus metadata.
\set dump_rc `"$UA_BINDIR/pg_dump" -h 127.0.0.1 -p "$UA_COORD" -d "$UA_DB" -Fc -f "$UA_SCRATCH/coordinator.dump" 2>"$UA_SCRATCH/coordinator.dump.err"; echo $?`
SELECT is(:'dump_rc'::text, '0'::text, 'pg_dump of the coordinator succeeds');
\set dump_toc `"$UA_BINDIR/pg_restore" -l "$UA_SCRATCH/coordinator.dump" | awk '$4 == "TABLE" && $5 == "DATA" {print $6 "." $7}' | paste -sd ,`
SELECT is((SELECT count(*)::int FROM pg_dist_shard s
            WHERE s.logicalrelid::regclass::text || '_' || s.shardid = ANY (string_to_array(:'dump_toc', ','))),
          0, 'the dump holds no shard');
SELECT is((SELECT count(*)::int FROM unnest(string_to_array(:'dump_toc', ',')) t WHERE t LIKE 'pg_catalog.%'),
          0, 'and no Citus metadata');
SELECT is((SELECT count(*)::int FROM unnest(ARRAY['usage_counters', 'rollup_user_models', 'rollup_system_models', 'plans',
                                                  'chat_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')]) t
            WHERE 'analytics.' || t = ANY (string_to_array(:'dump_toc', ','))),
          5, 'it holds the data of the log''s partition of this month, the counters, user and system rollups, plans');

-- The cluster folds after the dump: what the rollups say then.
SELECT analytics.fold() >= 3 AS folded \gset
\set c_roll `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_COORD" -d "$UA_DB" -f "$UA_SCRATCH/rollup-figures.sql"`

-- 5-6: a plain pg_dump of a worker holds no shard (Citus hides them from
-- every application not named in citus.show_shards_for_app_name_prefixes);
-- with pg_dump named there, it holds that worker's shards.
\set w_toc `"$UA_BINDIR/pg_dump" -h 127.0.0.1 -p "$UA_W1" -d "$UA_DB" -Fc -f "$UA_SCRATCH/worker1.dump" 2>/dev/null; "$UA_BINDIR/pg_restore" -l "$UA_SCRATCH/worker1.dump" | awk '$4 == "TABLE" && $5 == "DATA" {print $6 "." $7}' | paste -sd ,`
\set w_toc2 `PGOPTIONS='-c citus.show_shards_for_app_name_prefixes=pg_dump -c citus.enable_manual_changes_to_shards=on' "$UA_BINDIR/pg_dump" -h 127.0.0.1 -p "$UA_W1" -d "$UA_DB" -Fc -f "$UA_SCRATCH/worker1-shards.dump" 2>/dev/null; "$UA_BINDIR/pg_restore" -l "$UA_SCRATCH/worker1-shards.dump" | awk '$4 == "TABLE" && $5 == "DATA" {print $6 "." $7}' | paste -sd ,`
SELECT s.logicalrelid::regclass::text || '_' || s.shardid AS w1_shard
  FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid)
 WHERE s.logicalrelid = 'analytics.usage_counters'::regclass AND n.nodeport = :worker1_port
 ORDER BY s.shardid LIMIT 1 \gset
SELECT is((SELECT count(*)::int FROM pg_dist_shard s
            WHERE s.logicalrelid::regclass::text || '_' || s.shardid = ANY (string_to_array(:'w_toc', ','))),
          0, 'a plain pg_dump of a worker holds no shard');
SELECT ok(:'w1_shard' = ANY (string_to_array(:'w_toc2', ',')),
          'with citus.show_shards_for_app_name_prefixes naming pg_dump (and citus.enable_manual_changes_to_shards on), it holds the worker''s shards');

-- 7-12: restored into a fresh server (citus and pg_cron preloaded, no
-- worker; the roles first): a single-node install with the cluster's rows.
\! D="$UA_SCRATCH/extra-restored"; "$UA_BINDIR/initdb" -D "$D" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$D.initdb.log" 2>&1 && printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nshared_preload_libraries = 'citus,pg_cron'\nmax_prepared_transactions = 100\ncron.database_name = '%s'\ntimezone = 'UTC'\nlog_timezone = 'UTC'\nfsync = off\n" "$UA_R" "$UA_SCRATCH" "$UA_DB" >>"$D/postgresql.conf" && "$UA_BINDIR/pg_ctl" -D "$D" -l "$D.log" -w start >/dev/null && "$UA_BINDIR/psql" -X -q -h 127.0.0.1 -p "$UA_R" -d postgres -c "CREATE DATABASE $UA_DB"
\set globals_rc `"$UA_BINDIR/pg_dumpall" -h 127.0.0.1 -p "$UA_COORD" --globals-only >"$UA_SCRATCH/globals.sql" 2>&1 && "$UA_BINDIR/psql" -X -q -h 127.0.0.1 -p "$UA_R" -d postgres -f "$UA_SCRATCH/globals.sql" >"$UA_SCRATCH/globals.log" 2>&1; echo $?`
-- The billing tables that stay local lost their keys to the converted
-- tables on the cluster, so pg_dump does not order their data after
-- those tables', which the fresh install's keys need: their data last.
\set restore_rc `"$UA_BINDIR/pg_restore" -l "$UA_SCRATCH/coordinator.dump" | awk '$4 == "TABLE" && $5 == "DATA" && $6 == "analytics" && $7 ~ /^(invoices|invoice_lines|invoice_number_counters|credit_grants|credit_consumptions|billing_outbox)$/ { late = late $0 ORS; next } { print } END { printf "%s", late }' >"$UA_SCRATCH/coordinator.list" && "$UA_BINDIR/pg_restore" -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -L "$UA_SCRATCH/coordinator.list" "$UA_SCRATCH/coordinator.dump" >"$UA_SCRATCH/restore.log" 2>&1; echo $?`
\! sed 's/^/# restore: /' "$UA_SCRATCH/restore.log" | head -n 20
SELECT is(:'globals_rc' || ' ' || :'restore_rc', '0 0', 'the roles (pg_dumpall --globals-only) and pg_restore of the coordinator''s dump (billing data last) into a fresh server succeed');
\set r_state `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -c "SELECT analytics.distributed() || ' ' || (SELECT needs_repair FROM analytics.fold_lag)"`
SELECT is(:'r_state'::text, 'false true'::text, 'the restored server is a single-node install, and its fold knows it must repair');
\set r_log `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -f "$UA_SCRATCH/log-figures.sql"`
SELECT is(:'r_log'::text, :'c_log'::text, 'the restored log, corrections, API requests, counters and invoices equal the cluster''s');
\set r_fold `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -c "SELECT analytics.fold() > 0"`
SELECT is(:'r_fold'::text, 't'::text, 'the first fold on the restored server repairs it');
\set r_roll `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -f "$UA_SCRATCH/rollup-figures.sql"`
SELECT is(:'r_roll'::text, :'c_roll'::text, 'then its rollups equal the cluster''s (nothing folded twice or lost), verify_rollups empty');
\set r_again `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -c "SELECT analytics.fold()"`
SELECT is(:'r_again'::text, '0'::text, 'a second fold there folds nothing');

-- 13-18: a cluster again: a fresh worker, distribute(), fold.
\! D="$UA_SCRATCH/extra-worker"; "$UA_BINDIR/initdb" -D "$D" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$D.initdb.log" 2>&1 && printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nshared_preload_libraries = 'citus,pg_cron'\nmax_prepared_transactions = 100\ncron.database_name = '%s'\ntimezone = 'UTC'\nlog_timezone = 'UTC'\nfsync = off\n" "$UA_RW" "$UA_SCRATCH" "$UA_DB" >>"$D/postgresql.conf" && "$UA_BINDIR/pg_ctl" -D "$D" -l "$D.log" -w start >/dev/null && "$UA_BINDIR/psql" -X -q -h 127.0.0.1 -p "$UA_RW" -d postgres -c "CREATE DATABASE $UA_DB" && "$UA_BINDIR/psql" -X -q -h 127.0.0.1 -p "$UA_RW" -d "$UA_DB" -c "CREATE EXTENSION citus"
\set r_add `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -c "SET client_min_messages = error" -c "SELECT citus_set_coordinator_host('127.0.0.1', $UA_R)" -c "SELECT citus_add_node('127.0.0.1', $UA_RW) > 0" 2>&1 | tail -n 1`
SELECT is(:'r_add'::text, 't'::text, 'the restored server takes a fresh worker');
\set r_dist `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -q -c "SET client_min_messages = error" -c "SELECT analytics.distribute() > 0" -c "SELECT analytics.distributed()" 2>&1 | paste -sd ' '`
SELECT is(:'r_dist'::text, 't t'::text, 'distribute() distributes the restored install');
\set r_log2 `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -f "$UA_SCRATCH/log-figures.sql"`
SELECT is(:'r_log2'::text, :'c_log'::text, 'the distributed log, counters and invoices equal the old cluster''s');
\set r_fold2 `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -c "SELECT analytics.fold() > 0" 2>&1 | tail -n 1`
SELECT is(:'r_fold2'::text, 't'::text, 'the next fold folds the log');
\set r_roll2 `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -f "$UA_SCRATCH/rollup-figures.sql"`
SELECT is(:'r_roll2'::text, :'c_roll'::text, 'then the rollups equal the old cluster''s: the events folded there are folded once again, none lost; verify_rollups empty');
\set r_unf `"$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_R" -d "$UA_DB" -c "SELECT count(*) FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid >= 0"`
SELECT is(:'r_unf'::text, '0'::text, 'every finished event is marked folded');

\! for d in "$UA_SCRATCH/extra-worker" "$UA_SCRATCH/extra-restored"; do "$UA_BINDIR/pg_ctl" -D "$d" -m fast -w stop >/dev/null 2>&1; done

SELECT * FROM finish();
