#!/usr/bin/env bash
# Citus benchmark (issue 16), short runs on one machine: delegated
# record_chat_event (top-level calls, Citus runs each on the worker that
# holds the user) on a coordinator + 1 and + 2 workers, against the same
# calls on a single node (the same installation, Citus not distributed).
# Users are drawn Zipf-skewed (pgbench random_zipfian(1, 10000, 1.1)).
# Every node runs on this machine: with 2 cores the workers share the
# coordinator's CPUs, so the 1 vs 2 workers figure shows the cost of the
# extra hop, not the scale-out a second machine would give.
# Then, on the 2-worker cluster, the two admission hotspots of the README
# ("What does not hold yet"), each against the same calls without it:
# record_chat_event with org_id (every organization's pooled counter rows
# live in one shard) and start_request under a provider rate limit (the
# provider's windows live in one shard); and each of the two inside a
# transaction block (BEGIN ... COMMIT), where Citus does not delegate the
# call: the coordinator runs it with its cached connections, while a
# backend serving a delegated call caches none (Citus's
# ShouldShutdownConnection), so a delegated call that writes on a second
# node opens a new connection to it every time.
#
#   CITUS_PG_CONFIG=/path/to/pg_config bench/citus.sh   (as root)
#   BENCH_SECONDS (default 10), BENCH_CLIENTS (default 4),
#   CITUS_PORT_BASE (default 56420: coordinator, workers on +1, +2; single node +3)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CITUS_PG_CONFIG:?set CITUS_PG_CONFIG to the pg_config of an installation with citus}"
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
BIN=$("$CITUS_PG_CONFIG" --bindir)
BASE=${CITUS_PORT_BASE:-56420}
SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-4}
make -s PG_CONFIG="$CITUS_PG_CONFIG" && make -s install PG_CONFIG="$CITUS_PG_CONFIG" >/dev/null
scratch=$(mktemp -d /tmp/usage_analytics-citus-bench.XXXXXX)
chown postgres "$scratch"
started=()
stop_all() {
  for d in "${started[@]}"; do runuser -u postgres -- "$BIN/pg_ctl" -D "$d" -m fast -w stop >/dev/null 2>&1 || true; done
  rm -rf "$scratch"
}
trap stop_all EXIT
q() { local port=$1; shift; runuser -u postgres -- "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -d bench "$@"; }
node() {  # $1 name, $2 port, $3 preload
  local d=$scratch/$1
  runuser -u postgres -- "$BIN/initdb" -D "$d" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$d/postgresql.conf" <<EOC
port = $2
listen_addresses = '127.0.0.1'
unix_socket_directories = '$scratch'
shared_preload_libraries = '$3'
max_prepared_transactions = 100
max_connections = 100
timezone = 'UTC'
EOC
  started+=("$d")
  runuser -u postgres -- "$BIN/pg_ctl" -D "$d" -l "$d.log" -w start >/dev/null
  runuser -u postgres -- "$BIN/psql" -X -q -h 127.0.0.1 -p "$2" -d postgres -c "CREATE DATABASE bench"
}
cat >"$scratch/record.sql" <<'EOS'
\set u random_zipfian(1, 10000, 1.1)
SELECT analytics.record_chat_event(user_id => 'u' || :u, model => 'gpt-4o-mini', input_tokens => 500, output_tokens => 100);
EOS
cat >"$scratch/start.sql" <<'EOS'
\set u random_zipfian(1, 10000, 1.1)
SELECT allowed FROM analytics.start_request('user_' || :u, 'gpt-4o', 1000);
EOS
cp bench/pgbench/record.sql "$scratch/record_user.sql"
cp bench/pgbench/record_org.sql "$scratch/record_org.sql"
for f in record_org start; do  # the same call inside BEGIN ... COMMIT
  { grep '^\\set' "$scratch/$f.sql"; echo 'BEGIN;'; grep -v '^\\set' "$scratch/$f.sql"; echo 'COMMIT;'; } >"$scratch/${f}_txn.sql"
done
chmod a+r "$scratch"/*.sql
tps() {  # $1 port[, $2 script name, default record]
  runuser -u postgres -- "$BIN/pgbench" -n -h 127.0.0.1 -p "$1" -T "$SECS" -c "$CLIENTS" -j "$CLIENTS" \
    -f "$scratch/${2:-record}.sql" bench 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

# Single node: the same installation, no Citus.
node single $((BASE + 3)) ''
q $((BASE + 3)) -c "CREATE EXTENSION usage_analytics" -c "ALTER DATABASE bench SET usage_analytics.default_plan = 'pro'"
single=$(tps $((BASE + 3)))
runuser -u postgres -- "$BIN/pg_ctl" -D "$scratch/single" -m fast -w stop >/dev/null

node coordinator "$BASE" citus
node worker1 $((BASE + 1)) citus
node worker2 $((BASE + 2)) citus
for p in "$BASE" $((BASE + 1)) $((BASE + 2)); do q "$p" -c "CREATE EXTENSION citus"; done
q "$BASE" -c "SET client_min_messages = warning" \
  -c "SELECT citus_set_coordinator_host('127.0.0.1', $BASE)" \
  -c "SELECT citus_add_node('127.0.0.1', $((BASE + 1)))" \
  -c "CREATE EXTENSION usage_analytics" -c "SELECT analytics.distribute()" \
  -c "ALTER DATABASE bench SET usage_analytics.default_plan = 'pro'" >/dev/null
one=$(tps "$BASE")
q "$BASE" -c "SET client_min_messages = warning" -c "SELECT citus_add_node('127.0.0.1', $((BASE + 2)))" \
  -c "SELECT analytics.distribute()" \
  -c "SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')" -c "SELECT citus_rebalance_wait()" >/dev/null
two=$(tps "$BASE")
events=$(q "$BASE" -At -c "SELECT count(*) FROM analytics.chat_events")

# The hotspots, on the 2-worker cluster: 200 organizations on plan pro,
# user i a member of org_(i % 200 + 1) (bench/orgs.sql).
q "$BASE" -f bench/orgs.sql >/dev/null
plain=$(tps "$BASE" record_user)
org=$(tps "$BASE" record_org)
org_txn=$(tps "$BASE" record_org_txn)
unlimited=$(tps "$BASE" start)
q "$BASE" -c "INSERT INTO analytics.provider_limits (provider, requests_per_minute) VALUES ('openai', 1000000000)"
limited=$(tps "$BASE" start)
limited_txn=$(tps "$BASE" start_txn)
over=$(q "$BASE" -At -c "SELECT count(*) FILTER (WHERE status = 'rejected') FROM analytics.chat_events")
echo "record_chat_event, $CLIENTS clients, ${SECS}s each, Zipf over 10000 users (tps):"
echo "  single node (no Citus):                 $single"
echo "  Citus, coordinator + 1 worker:          $one"
echo "  Citus, coordinator + 2 workers:         $two"
echo "  events in the distributed log: $events"
echo "hotspots on coordinator + 2 workers, $CLIENTS clients, ${SECS}s each (tps):"
echo "  record_chat_event without org_id:       $plain"
echo "  the same with org_id (200 organizations, pooled counters in one shard): $org"
echo "  the same with org_id, inside BEGIN ... COMMIT (run by the coordinator): $org_txn"
echo "  start_request, no provider limit:       $unlimited"
echo "  start_request under a provider limit (one shard for the provider's windows): $limited"
echo "  the same inside BEGIN ... COMMIT (run by the coordinator): $limited_txn"
echo "  admissions refused in these runs (quota or limit): $over"
