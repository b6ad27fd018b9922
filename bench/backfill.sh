#!/usr/bin/env bash
# Backfill fold benchmark (issue 17): BENCH_EVENTS events (default 10^6)
# spread over the last 60 days are bulk-inserted by bench/bulk.sql (straight
# into chat_events, counters rebuilt from the log, rollups left unfolded)
# into a template database; then, per round, a copy of it gets one timed
# fold() (the backfill), BENCH_STEADY more events of the last hour
# (default 2*10^5, bulk-inserted the same way) and a second timed fold()
# (steady state), and verify_rollups() must be empty.
#
#   bench/backfill.sh                  (as root) the code of this tree
#   BENCH_BASE=<commit> ...            also that commit's code (git archive,
#                                      built beside the cluster): rounds
#                                      alternate base and this tree on copies
#                                      of the same loaded database (the two
#                                      must share the SQL of the extension)
#   BENCH_ROUNDS=n                     rounds (default 2)
#   BENCH_PROFILE=1                    print the fold's per-rollup write times
#                                      (its DEBUG1 messages) of the backfill
# Each fold's wall time and its backend's CPU time (from /proc/self/stat)
# are printed, with the load average after each round.
#   PG_CONFIG=..., BENCH_PORT=...      the PostgreSQL to build for and run,
#                                      the throwaway cluster's port
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cluster.sh
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
[ -n "${PG_CONFIG:-}" ] || tools/install-deps.sh
N=${BENCH_EVENTS:-1000000}
STEADY=${BENCH_STEADY:-200000}
ROUNDS=${BENCH_ROUNDS:-2}
MK=(); [ -n "${PG_CONFIG:-}" ] && MK=(PG_CONFIG="$PG_CONFIG")
make -s "${MK[@]}"
variants=(this)
if [ -n "${BENCH_BASE:-}" ]; then
  base_dir=$BENCH_DIR/.base
  rm -rf "$base_dir" && mkdir -p "$base_dir"
  git archive "$BENCH_BASE" | tar -x -C "$base_dir"
  make -s -C "$base_dir" "${MK[@]}"
  variants=(base this)
fi
install() {  # $1 base|this
  if [ "$1" = base ]; then make -s -C "$base_dir" "${MK[@]}" install >/dev/null
  else make -s "${MK[@]}" install >/dev/null; fi
}
install this
cluster_start
trap 'cluster_stop; [ -z "${base_dir:-}" ] || rm -rf "$base_dir"' EXIT

echo "loading $N events over 60 days (bench/bulk.sql, counters rebuilt, not folded)..."
psql_q -c 'CREATE DATABASE loaded'
psql_q -d loaded -c 'CREATE EXTENSION usage_analytics' -c 'SELECT analytics.ensure_partitions(1)' >/dev/null
psql_q -d loaded -v n="$N" -v seed=0.17 -v nofold=1 -f bench/bulk.sql
psql_q -d loaded -c 'VACUUM ANALYZE' >/dev/null
since=$(psql_q -Atc "SELECT now() - interval '1 hour'")

# The backend's CPU time so far (user + system, clock ticks), from /proc:
# on the shared machine it says what the fold cost when wall times do not.
TICKS=$(getconf CLK_TCK)
CPU="(SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint FROM pg_catalog.pg_read_file('/proc/self/stat') s)"
fold_s() {  # $1 database [$2 profile]: the events one fold() folded, its seconds and CPU seconds
  local set=''
  [ -n "${2:-}" ] && set='SET client_min_messages = debug1;'
  psql_q -d "$1" -At 2>&1 <<SQL
$set
SELECT clock_timestamp() AS t0, $CPU AS c0 \gset
SELECT analytics.fold() AS n \gset
SELECT :n || ' ' || extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) || ' ' || ($CPU - :c0) / $TICKS::numeric;
SQL
}
rate() {
  echo "$1" | awk '{ printf "%d events in %.2f s: %d events/s (CPU %.2f s: %d events/s)", $1, $2, $1 / $2, $3, ($3 > 0 ? $1 / $3 : 0) }'
}

for r in $(seq 1 "$ROUNDS"); do
  for v in "${variants[@]}"; do
    install "$v"
    psql_q -c 'DROP DATABASE IF EXISTS run' -c 'CREATE DATABASE run TEMPLATE loaded'
    if [ "${BENCH_PROFILE:-0}" = 1 ]; then
      out=$(fold_s run profile)
      echo "$out" | sed -n 's/^DEBUG: *usage_analytics fold: /  /p'
      b=$(echo "$out" | grep -v '^DEBUG' | tail -n 1)
    else
      b=$(fold_s run)
    fi
    psql_q -d run -v n="$STEADY" -v seed=0.29 -v since="$since" -v nofold=1 -f bench/bulk.sql
    s=$(fold_s run)
    bad=$(psql_q -d run -At -c 'SELECT count(*) FROM analytics.verify_rollups()')
    echo "round $r, $v: backfill $(rate "$b"); steady state $(rate "$s"); verify_rollups rows: $bad; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
psql_q -c 'DROP DATABASE IF EXISTS run' >/dev/null
