#!/usr/bin/env bash
# Batch path and history load benchmark (issue 17), one run:
#  - record_chat_events with 100 events per call vs a bare multi-row INSERT
#    of the same 100 rows into the same events table, 4 clients (20 pairs of
#    generated scripts, users log-uniform over 10,000), in alternating rounds
#    (the median of the rounds' ratios: the machine is shared);
#  - one call of 10^5 events (max_batch_events raised), its time and the
#    backend's peak private memory (VmHWM - RssShmem);
#  - a history load: BENCH_HISTORY events over 60 days in a staging table,
#    import_chat_events() (its time and its backend's peak private memory),
#    then fold() and verify_rollups(); BENCH_HISTORY=10000000 for 10^7.
#
#   bench/batch.sh            (as root; BENCH_ROUNDS rounds, default 5, of BENCH_SECONDS per pgbench run, default 5;
#                              BENCH_HISTORY events, default 10^6; BENCH_BIG, default 10^5)
#   PG_CONFIG=...             build, install and run that PostgreSQL (a private copy)
#   BENCH_PORT=...            the throwaway cluster's port
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cluster.sh
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
[ -n "${PG_CONFIG:-}" ] || tools/install-deps.sh
make -s && make -s install >/dev/null
cluster_start
trap cluster_stop EXIT
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-5}
HISTORY=${BENCH_HISTORY:-1000000}
BIG=${BENCH_BIG:-100000}

psql_q -c 'CREATE EXTENSION usage_analytics' -c 'SELECT analytics.ensure_partitions(1)' -f bench/timing.sql \
  -c "ALTER DATABASE postgres SET usage_analytics.default_plan = 'pro'" >/dev/null
result() { psql_q -c "INSERT INTO bench.results (section, metric, value, target) VALUES ('$1', '$2', '$3', '$4')"; }

# 20 pairs of scripts: the same 100 rows as one multi-row INSERT and as one batch.
scripts=$CLUSTER/scripts
mkdir -p "$scripts"
for k in $(seq 1 20); do
  psql_q -At -c "SELECT setseed($k / 100.0)" -c "
    WITH r AS (SELECT i, 'user_' || floor(exp(random() * ln(10000)))::int AS u, 100 + floor(random() * 3900)::int AS t
                 FROM generate_series(1, 100) i)
    SELECT 'INSERT INTO analytics.chat_events (occurred_at, usage_date, user_id, provider, model, status, input_tokens, '
           || 'output_tokens, cost, cost_input, cost_cached_input, cost_cache_write, cost_output, cache_savings, '
           || 'cost_source, response_time_ms, conversation_id, recorded_xid) VALUES '
           || string_agg(format('(now(), current_date, %L, ''openai'', ''gpt-4o'', ''completed'', %s, 300, %s, %s, 0, 0, 0.003, 0, ''computed'', 900, %L, 0)',
                                u, t, t * 0.0000025 + 0.003, t * 0.0000025, 'c' || u), ', ' ORDER BY i) || ';'
           || chr(10) || 'SELECT count(*) FROM analytics.record_chat_events('
           || quote_literal(jsonb_agg(jsonb_build_object('user_id', u, 'model', 'gpt-4o', 'input_tokens', t,
                                                         'output_tokens', 300, 'response_time_ms', 900,
                                                         'conversation_id', 'c' || u) ORDER BY i)::text) || ');'
      FROM r" | tail -n 2 > "$scripts/pair_$k"
  sed -n 1p "$scripts/pair_$k" > "$scripts/bare_$k.sql"
  sed -n 2p "$scripts/pair_$k" > "$scripts/batch_$k.sql"
done
chown -R postgres "$scripts"

tps() {  # $1 bare|batch -> calls per second, 4 clients
  local files=()
  for k in $(seq 1 20); do files+=(-f "$scripts/$1_$k.sql"); done
  as_pg "$BIN/pgbench" -n -T "$SECS" -c 4 -j 4 "${files[@]}" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
# Rounds alternate the two, SECS each; the ratio is the median of the rounds' ratios.
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  bare=$(tps bare); batch=$(tps batch)
  echo "  round $r: bare $bare, batch $batch calls/s"
  result "batch" "round $r: bare multi-row INSERT / record_chat_events, 100 rows a call, 4 clients (events/s)" \
    "$(echo "$bare * 100 / 1" | bc) / $(echo "$batch * 100 / 1" | bc)" ""
  ratios+=("$(echo "scale=2; $batch / $bare" | bc)")
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")
result "batch" "record_chat_events / bare multi-row INSERT: median of the rounds [each]" "$median [${ratios[*]}]" ">= 0.8"

echo "one call of $BIG events..."
psql_q -c "CREATE TABLE bench.big AS
  SELECT jsonb_agg(jsonb_build_object('user_id', 'big_' || i % 5000, 'model', 'gpt-4o', 'input_tokens', i % 4000,
                                      'output_tokens', 300, 'response_time_ms', 900, 'conversation_id', 'bc' || i % 20000,
                                      'request_id', 'rq' || i)) AS j
    FROM generate_series(1, $BIG) i"
psql_q -At -c "SET usage_analytics.max_batch_events = $BIG" \
  -c "SELECT round(bench.best_ms('SELECT count(*) FROM analytics.record_chat_events((SELECT j FROM bench.big))', 1)::numeric)" \
  -c "SELECT 'VmHWM:' || substring(pg_read_file('/proc/self/status') from 'VmHWM:\\s*([0-9]+) kB')::bigint
               - substring(pg_read_file('/proc/self/status') from 'RssShmem:\\s*([0-9]+) kB')::bigint" > "$CLUSTER/big.out"
ms=$(sed -n 1p "$CLUSTER/big.out")
hwm=$(sed -n 's/VmHWM:[[:space:]]*//p' "$CLUSTER/big.out")
result "batch" "one record_chat_events call of $BIG events (ms)" "$ms" "seconds"
result "batch" "its backend: peak resident memory less shared memory (VmHWM - RssShmem, kB)" "$hwm" "bounded"

echo "history load of $HISTORY events over 60 days (database history)..."
# Its own database: the bare INSERTs above wrote rows the fold never folds.
psql_q -c 'CREATE DATABASE history'
hq() { psql_q -d history "$@"; }
hq -c 'CREATE EXTENSION usage_analytics' -c 'SELECT analytics.ensure_partitions(1)' -f bench/timing.sql >/dev/null
hq -c "CREATE TABLE bench.hist AS
  SELECT 'hist_' || floor(exp(random() * ln(10000)))::int AS user_id,
         (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'])[1 + i % 3] AS model,
         (100 + random() * 3900)::int AS input_tokens, 300 AS output_tokens,
         (50 + random() * 3000)::int AS response_time_ms, 'hc' || i % 50000 AS conversation_id,
         now() - interval '1 day' - random() * interval '60 days' AS occurred_at
    FROM generate_series(1, $HISTORY) i"
hq -At -c "SELECT round(bench.best_ms('SELECT analytics.import_chat_events(''bench.hist'', 10000)', 1)::numeric)" \
  -c "SELECT 'VmHWM:' || substring(pg_read_file('/proc/self/status') from 'VmHWM:\\s*([0-9]+) kB')::bigint
               - substring(pg_read_file('/proc/self/status') from 'RssShmem:\\s*([0-9]+) kB')::bigint" > "$CLUSTER/import.out"
import_ms=$(sed -n 1p "$CLUSTER/import.out")
import_hwm=$(sed -n 's/VmHWM:[[:space:]]*//p' "$CLUSTER/import.out")
fold_ms=$(hq -At -c "SELECT round(bench.best_ms('SELECT analytics.fold()', 1)::numeric)")
verify=$(hq -At -c "SELECT count(*) FROM analytics.verify_rollups()")
counters=$(hq -At -c "SELECT count(*) FROM (SELECT user_id, usage_date, count(*), sum(input_tokens), sum(cost)
                                               FROM analytics.chat_events GROUP BY 1, 2
                                             EXCEPT SELECT user_id, usage_date, sum(requests), sum(input_tokens), sum(cost)
                                               FROM analytics.usage_counters GROUP BY 1, 2) d")
result "history" "import_chat_events of $HISTORY events over 60 days, 10,000 a batch (s; events/s)" \
  "$(echo "scale=1; $import_ms / 1000" | bc); $(echo "$HISTORY * 1000 / $import_ms" | bc)" "minutes for 10^6-10^7"
result "history" "its backend: peak resident memory less shared memory (VmHWM - RssShmem, kB)" "$import_hwm" "bounded"
result "history" "then fold() (s; events/s)" "$(echo "scale=1; $fold_ms / 1000" | bc); $(echo "$HISTORY * 1000 / $fold_ms" | bc)" ""
result "history" "the load and the fold together (s)" "$(echo "scale=1; ($import_ms + $fold_ms) / 1000" | bc)" "10^7 well under 20 min"
result "history" "user-days whose counters differ from the raw log; verify_rollups() rows" "$counters; $verify" "0; 0"
psql_q -P pager=off -c 'SELECT section, metric, value, target FROM bench.results ORDER BY n' | tee bench/.last_batch_results.txt
