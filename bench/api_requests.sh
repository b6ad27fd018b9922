#!/usr/bin/env bash
# API-request metering benchmark (short; one table): record_api_request vs a
# bare INSERT of the same row into the same table (analytics.api_requests),
# with and without a request_id (the idempotency key), 1 and 8 clients over
# 100 organizations.  Runs alternate bare/record for BENCH_ROUNDS rounds of
# BENCH_SECONDS each and report the median of the per-round ratios (the
# machine may be shared).  Also the server time of one call, both in a
# PL/pgSQL loop (cached plans, no client round trip, no commit).
# synchronous_commit stays on.
#
#   PG_CONFIG=... bench/api_requests.sh   (as root; BENCH_SECONDS default 5,
#                                          BENCH_ROUNDS default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cluster.sh
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
make -s >/dev/null && make -s install >/dev/null
cluster_start
trap cluster_stop EXIT
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-5}

psql_q -c 'CREATE EXTENSION usage_analytics' -c 'SELECT analytics.ensure_partitions(1)' -f bench/timing.sql \
  -c "INSERT INTO analytics.organizations (org_id, name, slug)
        SELECT 'org_' || i, 'Org ' || i, 'org-' || i FROM generate_series(1, 100) i"

tps() {  # $1 script, $2 clients -> transactions per second
  as_pg "$BIN/pgbench" -n -T "$SECS" -c "$2" -j "$2" -f "bench/pgbench/$1.sql" 2>&1 \
    | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
result() { psql_q -c "INSERT INTO bench.results (section, metric, value, target) VALUES ('$1', '$2', '$3', '$4')"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

for variant in "api_bare api_record with request_id" "api_bare_nokey api_record_nokey without request_id"; do
  set -- $variant
  bare=$1 rec=$2 label="${*:3}"
  for clients in 1 8; do
    ratios=() bares=() recs=()
    for r in $(seq "$ROUNDS"); do
      echo "round $r: $bare / $rec, $clients clients, ${SECS}s each..."
      b=$(tps "$bare" "$clients"); c=$(tps "$rec" "$clients")
      bares+=("$b"); recs+=("$c"); ratios+=("$(echo "scale=3; $c / $b" | bc)")
    done
    result "tps" "bare INSERT $label, $clients clients (median)" "$(printf '%s\n' "${bares[@]}" | median)" ""
    result "tps" "record_api_request $label, $clients clients (median)" "$(printf '%s\n' "${recs[@]}" | median)" ""
    result "ratios" "record_api_request / bare INSERT $label, $clients clients (median of $ROUNDS; all: ${ratios[*]})" \
      "$(printf '%s\n' "${ratios[@]}" | median)" ">= 0.8"
  done
done

psql_q <<'SQL'
CREATE FUNCTION bench.loop_us(body text, n integer) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
BEGIN
  EXECUTE format('DO $b$ BEGIN FOR i IN 1..10 LOOP %s END LOOP; END $b$', body);   -- warm
  t0 := clock_timestamp();
  EXECUTE format('DO $b$ BEGIN FOR i IN 1..%s LOOP %s END LOOP; END $b$', n, body);
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END
$$;
INSERT INTO bench.results (section, metric, value, target)
SELECT 'server time', 'bare INSERT, one row (us)', round(bench.loop_us($q$
  INSERT INTO analytics.api_requests (org_id, occurred_at, endpoint, method, status_code, response_time_ms, cached,
    billable_units, api_key_id, country_code, ip_address, user_agent, request_id, recorded_xid)
  VALUES ('org_' || (i % 100 + 1), now(), '/v1/forecast', 'GET', 200, 20, false, 1, 3, 'NO', '10.0.0.1', 'bench/1.0',
          'lb' || i, 0);$q$, 20000)::numeric, 1), '';
INSERT INTO bench.results (section, metric, value, target)
SELECT 'server time', 'record_api_request with request_id (us)', round(bench.loop_us($q$
  PERFORM analytics.record_api_request('org_' || (i % 100 + 1), '/v1/forecast', 'GET', 200, 20, false,
    billable_units => 1, api_key_id => 3, country_code => 'NO', ip_address => '10.0.0.1', user_agent => 'bench/1.0',
    request_id => 'lr' || i);$q$, 20000)::numeric, 1), '';
INSERT INTO bench.results (section, metric, value, target)
SELECT 'server time', 'record_api_request without request_id (us)', round(bench.loop_us($q$
  PERFORM analytics.record_api_request('org_' || (i % 100 + 1), '/v1/forecast', 'GET', 200, 20, false,
    billable_units => 1, api_key_id => 3, country_code => 'NO', ip_address => '10.0.0.1', user_agent => 'bench/1.0');$q$,
  20000)::numeric, 1), '';
INSERT INTO bench.results (section, metric, value, target)
SELECT 'fold', 'fold() of ' || (SELECT count(*) FROM analytics.api_requests) || ' API requests (ms)',
       round(bench.best_ms('SELECT analytics.fold()', 1)::numeric, 1), '';
SQL
psql_q -P pager=off -c 'SELECT section, metric, value, target FROM bench.results ORDER BY n' | tee bench/.last_api_results.txt
