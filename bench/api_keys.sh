#!/usr/bin/env bash
# API-key benchmark (short; one table): the server time of one
# authenticate_api_key and of one authorize_api_request (authenticate +
# rate-limit charge, each call its own transaction, commit excluded); the
# throughput of 8 clients charging one key vs 8 clients on 8 keys (pgbench,
# one call per transaction, synchronous_commit on), and no over-admission:
# 8 clients on one key limited to 2,000 a minute for 10 seconds inside one
# minute get exactly 2,000.
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
CREATE TABLE bench.keys AS
  SELECT i, c.* FROM generate_series(1, 9) i,
    LATERAL analytics.create_api_key('acme', 'k' || i, '{read,write}',
              rate_limit_per_minute => CASE WHEN i = 9 THEN 2000 ELSE 1000000000 END,
              rate_limit_per_hour => CASE WHEN i = 9 THEN NULL ELSE 1000000000 END,
              allowed_origins => '{https://app.example.com}', ip_allowlist => '{10.0.0.0/8}') c;
-- Mean server time of n calls of f(key), each in its own transaction (commit not timed).
CREATE PROCEDURE bench.per_call(f text, key text, n integer, INOUT us float8 DEFAULT NULL) LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  total interval := '0';
BEGIN
  FOR i IN 1..n + 200 LOOP
    t0 := clock_timestamp();
    EXECUTE format('SELECT * FROM analytics.%I($1, ''https://app.example.com'', ''10.1.2.3'', ''read'')', f) USING key;
    IF i > 200 THEN            -- the first 200 warm the caches
      total := total + (clock_timestamp() - t0);
    END IF;
    COMMIT;
  END LOOP;
  us := extract(epoch FROM total) * 1e6 / n;
END
$$;
SQL

result() { psql_q -c "INSERT INTO bench.results (section, metric, value, target) VALUES ('$1', '$2', '$3', '$4')"; }
key1=$(psql_q -At -c "SELECT api_key FROM bench.keys WHERE i = 1")
for f in authenticate_api_key authorize_api_request; do
  us=$(psql_q -At -c "CALL bench.per_call('$f', '$key1', 5000)")
  result "server time" "$f, per call (us)" "$(printf '%.1f' "$us")" "$([ $f = authorize_api_request ] && echo '<= 50')"
done

tps() {  # $1 script -> transactions per second, 8 clients
  as_pg "$BIN/pgbench" -n -T "$SECS" -c 8 -j 8 -f "bench/pgbench/$1.sql" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
echo "pgbench: 8 clients on one key, ${SECS}s..."
one=$(tps authorize_one)
echo "pgbench: 8 clients on 8 keys, ${SECS}s..."
own=$(tps authorize_own)
result "throughput" "authorize_api_request, 8 clients on one key (tps)" "$one" ""
result "throughput" "authorize_api_request, 8 clients on 8 keys (tps)" "$own" ""
result "throughput" "one key / 8 keys" "$(echo "scale=2; $one / $own" | bc)" ">= 0.5"
result "throughput" "charges counted / calls admitted, one key" \
  "$(psql_q -At -c "SELECT sum(requests) FROM analytics.api_key_counters c JOIN bench.keys k USING (key_id) WHERE k.i = 1")" "equal"

# No over-admission: 2,000 a minute, 8 clients for 10 seconds inside one minute.
s=$(( $(date +%s) % 60 )); [ "$s" -le 40 ] || sleep $(( 61 - s ))
sed 's/k.i = 1;/k.i = 9;/' bench/pgbench/authorize_one.sql > bench/.limited.sql
calls=$(as_pg "$BIN/pgbench" -n -T 10 -c 8 -j 8 -f bench/.limited.sql 2>&1 | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
rm -f bench/.limited.sql
result "exactness" "8 clients on one key, 2,000 a minute, $calls calls: admitted / refused" \
  "$(psql_q -At -c "SELECT (SELECT sum(requests) FROM analytics.api_key_counters c JOIN bench.keys k USING (key_id) WHERE k.i = 9)
                        || ' / ' || (SELECT sum(refused) FROM analytics.api_key_rate_limited r JOIN bench.keys k USING (key_id) WHERE k.i = 9)")" \
  "2000 / rest"
psql_q -P pager=off -c 'SELECT section, metric, value, target FROM bench.results ORDER BY n' | tee bench/.last_api_keys_results.txt
