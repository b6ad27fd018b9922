#!/usr/bin/env bash
# Write-path benchmark (one run, one table of ratios): record_chat_event vs
# a bare INSERT of the same row into the same events table, and vs the seed
# 000 design (PL/pgSQL triggers, bench/seed000.sql); 1 and 8 clients over
# 10,000 Zipf-skewed users, and 8 clients on one user; start_request +
# complete_request pairs; storage per event; check_quota server time at
# 10^5 events (and 10^7 with BENCH_FULL=1).  synchronous_commit stays on.
#
# Organizations (issue 14): record_chat_event with org_id on an
# organization plan vs without; 8 clients on members of one organization
# vs 8 clients on 8 organizations.
#
#   bench/write.sh            (as root; BENCH_SECONDS per run, default 15)
#   BENCH_ONLY=orgs           only the organizations' runs (and the user runs they compare with)
#   PG_CONFIG=...             build, install and run that PostgreSQL (a private copy), not the system's
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cluster.sh
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
[ -n "${PG_CONFIG:-}" ] || tools/install-deps.sh
make -s && make -s install >/dev/null
cluster_start
trap cluster_stop EXIT
SECS=${BENCH_SECONDS:-15}

psql_q -c 'CREATE EXTENSION usage_analytics' -c 'SELECT analytics.ensure_partitions(1)' -f bench/timing.sql -f bench/seed000.sql \
  -c "ALTER DATABASE postgres SET usage_analytics.default_plan = 'pro'"

tps() {  # $1 script, $2 clients -> transactions per second
  as_pg "$BIN/pgbench" -n -T "$SECS" -c "$2" -j "$2" -f "bench/pgbench/$1.sql" 2>&1 \
    | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
result() { psql_q -c "INSERT INTO bench.results (section, metric, value, target) VALUES ('$1', '$2', '$3', '$4')"; }

declare -A T
ratio() { echo "scale=2; $1 / $2" | bc; }

# Organizations: the same events with org_id, on organization plans.
org_runs() {
  psql_q -f bench/orgs.sql >/dev/null
  for run in "record 8" "record_org 8" "record_org_one 8" "record_org_eight 8"; do
    set -- $run
    echo "pgbench $1, $2 clients, ${SECS}s..."
    T["$1_$2"]=$(tps "$1" "$2")
    result "tps" "$1, $2 clients" "${T[$1_$2]}" ""
  done
  result "ratios" "record_chat_event with org_id (organization plan) / without, 8 clients" \
    "$(ratio "${T[record_org_8]}" "${T[record_8]}")" ">= 0.8"
  result "ratios" "8 clients on members of one organization / on 8 organizations" \
    "$(ratio "${T[record_org_one_8]}" "${T[record_org_eight_8]}")" ">= 0.6"
}
if [ "${BENCH_ONLY:-}" = orgs ]; then
  org_runs
  psql_q -P pager=off -c 'SELECT section, metric, value, target FROM bench.results ORDER BY n'
  exit 0
fi

for run in "bare 1" "record 1" "seed 1" "bare 8" "record 8" "seed 8" "bare_one 8" "record_one 8" "seed_one 8"; do
  set -- $run
  echo "pgbench $1, $2 clients, ${SECS}s..."
  T["$1_$2"]=$(tps "$1" "$2")
  result "tps" "$1, $2 clients" "${T[$1_$2]}" ""
done
result "ratios" "record_chat_event / bare INSERT, 1 client" "$(ratio "${T[record_1]}" "${T[bare_1]}")" ">= 0.8"
result "ratios" "record_chat_event / bare INSERT, 8 clients" "$(ratio "${T[record_8]}" "${T[bare_8]}")" ">= 0.8"
result "ratios" "record_chat_event / bare INSERT, 8 clients, one user" "$(ratio "${T[record_one_8]}" "${T[bare_one_8]}")" ">= 0.6"
result "ratios" "record_chat_event / seed 000 triggers, 1 client" "$(ratio "${T[record_1]}" "${T[seed_1]}")" ">= 2"
result "ratios" "record_chat_event / seed 000 triggers, 8 clients" "$(ratio "${T[record_8]}" "${T[seed_8]}")" ">= 2"

org_runs

echo "pgbench start_request + complete_request, 8 clients..."
result "admission" "start_request + complete_request pairs/s, 8 clients" "$(tps start_complete 8)" ""

psql_q -c "INSERT INTO bench.results (section, metric, value, target)
  SELECT 'storage', 'bytes per event (heap + indexes): ours / seed 000',
         round(ours) || ' / ' || round(seed), 'ours <= seed'
    FROM (SELECT (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
                   WHERE i.inhparent = 'analytics.chat_events'::regclass)
                 / (SELECT count(*) FROM analytics.chat_events) AS ours,
                 pg_total_relation_size('seed.chat_events') / (SELECT count(*) FROM seed.chat_events) AS seed) s"

echo "check_quota at 10^5 events..."
psql_q -c "SELECT count(*) FROM analytics.chat_events" -At | tr -d ' ' > /dev/null
psql_q -v n=$((100000)) -v seed=0.3 -f bench/bulk.sql
psql_q -c "INSERT INTO bench.results (section, metric, value, target)
  SELECT 'check_quota', 'server time at ' || (SELECT count(*) FROM analytics.chat_events) || ' events (us)',
         round(1000 * bench.per_call_ms('analytics.check_quota(u, 1000)',
                                        ARRAY(SELECT 'user_' || i FROM generate_series(1, 200) i), 100)::numeric, 1), '<= 50'"
if [ "${BENCH_FULL:-0}" = 1 ]; then
  echo "growing to 10^7 events..."
  psql_q -v n=$((10000000)) -v seed=0.4 -f bench/bulk.sql
  psql_q -c "INSERT INTO bench.results (section, metric, value, target)
    SELECT 'check_quota', 'server time at ' || (SELECT count(*) FROM analytics.chat_events) || ' events (us)',
           round(1000 * bench.per_call_ms('analytics.check_quota(u, 1000)',
                                          ARRAY(SELECT 'user_' || i FROM generate_series(1, 200) i), 100)::numeric, 1), '<= 50, flat'"
fi
psql_q -P pager=off -c 'SELECT section, metric, value, target FROM bench.results ORDER BY n' | tee bench/.last_write_results.txt
