#!/usr/bin/env bash
# API-key benchmark (short; one table): the server time of one
# authenticate_api_key and of one authorize_api_request (authenticate +
# rate-limit charge; commit excluded); the throughput of 8 clients charging
# one key vs 8 clients on 8 keys (pgbench, one call per transaction,
# synchronous_commit on), with every admitted call counted; and no
# over-admission: 8 clients on one key limited to 2,000 a minute for 10
# seconds inside one minute get exactly 2,000.
#
#   bench/api_keys.sh          (as root; BENCH_SECONDS per pgbench run, default 10;
#                               PG_CONFIG chooses the server; BENCH_PORT)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cluster.sh
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
make -s && make -s install >/dev/null
cluster_start
trap cluster_stop EXIT
SECS=${BENCH_SECONDS:-10}

psql_q -c 'CREATE EXTENSION usage_analytics' -f bench/timing.sql
psql_q <<'SQL'
INSERT INTO analytics.organizations (org_id, name, slug) VALUES ('acme', 'Acme', 'acme');
-- Keys 1-8 for the pgbench runs (limits far above what they reach), 9 for
-- the exactness run (2,000 a minute).
CREATE TABLE bench.keys AS
  SELECT i, c.* FROM generate_series(1, 9) i,
    LATERAL analytics.create_api_key('acme', 'k' || i, '{read,write}',
              rate_limit_per_minute => CASE WHEN i = 9 THEN 2000 ELSE 1000000000 END,
              rate_limit_per_hour => CASE WHEN i = 9 THEN NULL ELSE 1000000000 END,
              allowed_origins => '{https://app.example.com}', ip_allowlist => '{10.0.0.0/8}') c;
-- 2,000 more keys for the server time: a round charges each once.
CREATE TABLE bench.many AS
  SELECT c.* FROM generate_series(1, 2000) i,
    LATERAL analytics.create_api_key('acme', 'm' || i, '{read}', rate_limit_per_minute => 1000000000,
              rate_limit_per_hour => 1000000000, allowed_origins => '{https://app.example.com}',
              ip_allowlist => '{10.0.0.0/8}') c;
SQL

result() { psql_q -c "INSERT INTO bench.results (section, metric, value, target) VALUES ('$1', '$2', '$3', '$4')"; }

# Server time: one statement calls the function once for each of the 2,000
# keys (bench.per_call_ms: a warm-up round, then the best of 3; no planning,
# no commit, no client in the measure).
for f in authenticate_api_key authorize_api_request; do
  us=$(psql_q -At -c "SELECT round(1000 * bench.per_call_ms(
          'analytics.$f(u, ''https://app.example.com'', ''10.1.2.3'', ''read'')',
          ARRAY(SELECT api_key FROM bench.many), 1)::numeric, 1)")
  result "server time" "$f, per call (us)" "$us" "$([ $f = authorize_api_request ] && echo '<= 50')"
done

tps() {  # $1 script -> "tps processed", 8 clients
  as_pg "$BIN/pgbench" -n -T "$2" -c 8 -j 8 -f "$1" > bench/.pgbench.out 2>&1
  echo "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' bench/.pgbench.out)" \
       "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' bench/.pgbench.out)"
  rm -f bench/.pgbench.out
}
echo "pgbench: 8 clients on one key, ${SECS}s..."
read -r one one_calls <<< "$(tps bench/pgbench/authorize_one.sql "$SECS")"
echo "pgbench: 8 clients on 8 keys, ${SECS}s..."
read -r own own_calls <<< "$(tps bench/pgbench/authorize_own.sql "$SECS")"
result "throughput" "authorize_api_request, 8 clients on one key (tps)" "$one" ""
result "throughput" "authorize_api_request, 8 clients on 8 keys (tps)" "$own" ""
result "throughput" "one key / 8 keys" "$(echo "scale=2; $one / $own" | bc)" ">= 0.5"
result "throughput" "keys 1-8: charges counted / calls of both runs" \
  "$(psql_q -At -c "SELECT sum(requests) FROM analytics.api_key_counters c JOIN bench.keys k USING (key_id) WHERE k.i <= 8") / $((one_calls + own_calls))" "equal"

# No over-admission: 2,000 a minute, 8 clients for 10 seconds inside one minute.
s=$(( $(date +%s) % 60 )); [ "$s" -le 40 ] || sleep $(( 61 - s ))
sed 's/k.i = 1;/k.i = 9;/' bench/pgbench/authorize_one.sql > bench/.limited.sql
read -r _ calls <<< "$(tps bench/.limited.sql 10)"
rm -f bench/.limited.sql
result "exactness" "8 clients on one key, 2,000 a minute, $calls calls: admitted / refused" \
  "$(psql_q -At -c "SELECT (SELECT sum(requests) FROM analytics.api_key_counters c JOIN bench.keys k USING (key_id) WHERE k.i = 9)
                        || ' / ' || (SELECT sum(refused) FROM analytics.api_key_rate_limited r JOIN bench.keys k USING (key_id) WHERE k.i = 9)")" \
  "2000 / rest"
psql_q -P pager=off -c 'SELECT section, metric, value, target FROM bench.results ORDER BY n' | tee bench/.last_api_keys_results.txt
