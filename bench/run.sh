#!/usr/bin/env bash
# The benchmark: one command, one throwaway cluster, one table of figures.
#
#   bench/run.sh              2*10^6 events through record_chat_event (default
#                             plan: free); fold, percentiles, view refresh; read
#                             latency at half and all of them (BENCH_EVENTS=n);
#                             then 10^6 more of the last hour and one fold
#                             (steady state)
#   BENCH_FULL=1 bench/run.sh also grows the log to 10^7 events (bulk insert
#                             plus rebuild) and measures read latency there
#
# Run as root (it installs the extension and runs the cluster as postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cluster.sh
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
tools/install-deps.sh
make -s && make -s install >/dev/null
cluster_start
trap cluster_stop EXIT

N=${BENCH_EVENTS:-2000000}
CHUNK=$(( N / 4 < 50000 ? N / 4 : 50000 ))
psql_q -c 'CREATE EXTENSION usage_analytics' -c 'SELECT analytics.ensure_partitions(1)' -f bench/timing.sql

load() {  # $1 events, $2 seed[, $3 since]: two writers in parallel; prints seconds
  local half=$(( $1 / 2 ))
  local since=(); [ -n "${3:-}" ] && since=(-v since="$3")
  local t0; t0=$(date +%s.%N)
  psql_q -v n="$half" -v chunk="$CHUNK" -v seed="0.$2" "${since[@]}" -f bench/load.sql > /dev/null &
  psql_q -v n="$half" -v chunk="$CHUNK" -v seed="0.$(( $2 + 1 ))" "${since[@]}" -f bench/load.sql > /dev/null
  wait
  echo "$(date +%s.%N) - $t0" | bc
}

echo "loading $((N / 2)) events through record_chat_event (2 writers)..."
s1=$(load $((N / 2)) 11)
psql_q -c 'SELECT analytics.fold()' > /dev/null
psql_q -v label="read path, $((N / 2)) events" -f bench/read_latency.sql
echo "loading $((N / 2)) more..."
s2=$(load $((N / 2)) 21)
psql_q -c "INSERT INTO bench.results (section, metric, value, target) VALUES ('load',
  'record_chat_event, 2 writers, $CHUNK per transaction (events/s)', round($N / ($s1 + $s2)), '')"
echo "fold, percentiles, views..."
psql_q -f bench/analytics.sql
psql_q -v label="read path, $N events" -f bench/read_latency.sql
echo "loading $((N / 2)) events of the last hour, then one fold (steady state)..."
since=$(psql_q -Atc "SELECT now() - interval '1 hour'")
load $((N / 2)) 31 "$since" > /dev/null
psql_q -v label='steady state: one fold of events of the last hour' -f bench/fold.sql
if [ "${BENCH_FULL:-0}" = 1 ]; then
  echo "growing the log to 10^7 events (bulk insert and rebuild)..."
  psql_q -v n=$((10000000 - N - N / 2)) -v seed=0.5 -f bench/bulk.sql
  psql_q -v label='read path, 10^7 events' -f bench/read_latency.sql
fi
psql_q -P pager=off -c 'SELECT section, metric, value, target FROM bench.results ORDER BY n' | tee bench/.last_results.txt
