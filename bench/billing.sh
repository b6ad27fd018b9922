#!/usr/bin/env bash
# Invoicing benchmark (issue 15): generate_invoices for 10,000 organizations
# with a month of usage, at 10^6 and 10^7 events, with one and with three
# charged meters, and for 5,000 organizations.  generate_invoices reads the
# counters (org_usage_counters) and the API rollups (rollup_api_daily,
# rollup_widget_daily), never the raw log, so its time follows subjects x
# meters, not events.  The month's usage is therefore written straight into
# those tables (every organization, every day of October 2026: the pooled
# counters, three members' rows, two endpoints' and one widget's rollups),
# with figures that add up to the stated number of events: the rows are the
# same at both sizes, only the sums differ - what 10^7 events recorded by
# record_chat_event / record_api_request and folded would leave there.
# Each timing is the best of BENCH_RUNS (default 1) runs, the invoices
# deleted between runs.
#
#   PG_CONFIG=... bench/billing.sh   (as root; BENCH_SUBJECTS default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/cluster.sh
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
make -s >/dev/null && make -s install >/dev/null
cluster_start
trap cluster_stop EXIT
SUBJECTS=${BENCH_SUBJECTS:-10000}
RUNS=${BENCH_RUNS:-1}

psql_q -c 'CREATE EXTENSION usage_analytics' -f bench/timing.sql
psql_q <<SQL
INSERT INTO analytics.organizations (org_id, name, slug, tax_rate)
  SELECT 'org_' || i, 'Org ' || i, 'org-' || i, 0.25 FROM generate_series(1, $SUBJECTS) i;
INSERT INTO analytics.plans (plan_id, name, price_per_month) VALUES ('one', 'One meter', 100), ('three', 'Three meters', 100);
INSERT INTO analytics.plan_charges (plan_id, meter_id, included_units, block_size, block_price) VALUES
  ('one', 'tokens', 1000000, 1000000, 2.5),
  ('three', 'tokens', 1000000, 1000000, 2.5), ('three', 'requests', 1000, 1, 0.001),
  ('three', 'widget_impressions', 100000, 1000, 0.5);
INSERT INTO analytics.subscriptions (org_id, plan_id, starts_at, time_zone)
  SELECT 'org_' || i, 'one', '2026-10-01 00:00+00', 'UTC' FROM generate_series(1, $SUBJECTS) i;
-- A month of usage of n events (half LLM requests, half API requests).
CREATE FUNCTION bench.fill(n bigint) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
  per bigint := greatest(1, round(n / 2.0 / $SUBJECTS / 31));      -- LLM requests per organization and day
  api bigint := greatest(1, round(n / 2.0 / $SUBJECTS / 31 / 2));  -- API requests per endpoint
BEGIN
  TRUNCATE analytics.org_usage_counters, analytics.rollup_api_daily, analytics.rollup_widget_daily;
  INSERT INTO analytics.org_usage_counters (org_id, user_id, usage_date, requests, input_tokens, output_tokens, cost)
    SELECT 'org_' || i, u, d::date, CASE u WHEN '' THEN per ELSE per / 3 END,
           CASE u WHEN '' THEN per * 900 ELSE per * 300 END, CASE u WHEN '' THEN per * 300 ELSE per * 100 END,
           CASE u WHEN '' THEN per * 0.01 ELSE per * 0.01 / 3 END
      FROM generate_series(1, $SUBJECTS) i, generate_series('2026-10-01'::date, '2026-10-31', '1 day') d,
           unnest(ARRAY['', 'm1', 'm2', 'm3']) u;
  INSERT INTO analytics.rollup_api_daily (org_id, usage_date, api_key_id, endpoint, requests, status_1xx, status_2xx,
      status_3xx, status_4xx, status_5xx, cached, billable_units, last_seen)
    SELECT 'org_' || i, d::date, 1, e, api, 0, api, 0, 0, 0, 0, api * 10, d + interval '12 hours'
      FROM generate_series(1, $SUBJECTS) i, generate_series('2026-10-01'::date, '2026-10-31', '1 day') d,
           unnest(ARRAY['/v1/widget', '/v1/api']) e;
  INSERT INTO analytics.rollup_widget_daily (org_id, widget_id, usage_date, requests, billable_units, last_seen)
    SELECT 'org_' || i, 'w', d::date, api, api * 10, d + interval '12 hours'
      FROM generate_series(1, $SUBJECTS) i, generate_series('2026-10-01'::date, '2026-10-31', '1 day') d;
  ANALYZE analytics.org_usage_counters, analytics.rollup_api_daily, analytics.rollup_widget_daily;
END
\$\$;
CREATE FUNCTION bench.invoice_ms(runs integer) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
  t0 timestamptz;
  best float8 := 'infinity';
BEGIN
  FOR r IN 1..runs LOOP
    TRUNCATE analytics.credit_consumptions, analytics.invoice_lines, analytics.invoices;
    t0 := clock_timestamp();
    PERFORM analytics.generate_invoices('2026-11-02 00:00+00');
    best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
  RETURN best;
END
\$\$;
SQL

measure() {  # $1 events, $2 plan, $3 subjects
  psql_q -c "UPDATE analytics.subscriptions SET plan_id = '$2'" \
         -c "UPDATE analytics.subscriptions SET starts_at = CASE WHEN substr(org_id, 5)::int <= $3 THEN '2026-10-01 00:00+00'::timestamptz ELSE '2026-11-01 00:00+00'::timestamptz END"
  local ms
  ms=$(psql_q -At -c "SELECT round(bench.invoice_ms($RUNS)::numeric)")
  local n
  n=$(psql_q -At -c "SELECT count(*) || ' invoices, ' || (SELECT count(*) FROM analytics.invoice_lines) || ' lines' FROM analytics.invoices")
  echo "$1 events, $3 subjects, plan $2: $ms ms ($n)"
  psql_q -c "INSERT INTO bench.results (section, metric, value, target) VALUES
    ('billing', 'generate_invoices: $3 subjects, $1 events, plan $2 ($n) (ms)', '$ms', '')"
}

for events in 1000000 10000000; do
  echo "filling the counters and rollups with a month of $events events..."
  psql_q -c "SELECT bench.fill($events)"
  psql_q -At -c "SELECT 'rows: ' || (SELECT count(*) FROM analytics.org_usage_counters) || ' counters, '
                        || (SELECT count(*) FROM analytics.rollup_api_daily) || ' API rollups; LLM requests '
                        || (SELECT sum(requests) FROM analytics.org_usage_counters WHERE user_id = '') || ', API requests '
                        || (SELECT sum(requests) FROM analytics.rollup_api_daily)"
  measure "$events" one "$SUBJECTS"
done
measure 10000000 three "$SUBJECTS"
measure 10000000 one "$((SUBJECTS / 2))"
psql_q -P pager=off -c "SELECT metric, value FROM bench.results WHERE section = 'billing' ORDER BY n"
