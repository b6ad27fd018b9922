/*
 * Folds the API requests with recorded_xid in [lo, hi) (and, for a
 * rebuild, occurred on the UTC days d_from..d_to) into rollup_api_daily and
 * rollup_widget_daily: one set-based upsert per rollup.  fold() calls it
 * with the chat fold's range under the fold_state row lock, so each request
 * is folded exactly once.  Returns the number of requests folded.  Internal.
 */
CREATE OR REPLACE FUNCTION analytics.fold_api_requests(lo bigint, hi bigint, d_from date, d_to date)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  t_from timestamptz := COALESCE(d_from::timestamp AT TIME ZONE 'UTC', '-infinity');
  t_to   timestamptz := COALESCE((d_to + 1)::timestamp AT TIME ZONE 'UTC', 'infinity');
  n      bigint;
BEGIN
  -- One statement: the batch is read once, each rollup gets one upsert.
  WITH b AS MATERIALIZED (
         SELECT r.org_id, (r.occurred_at AT TIME ZONE 'UTC')::date AS usage_date,
                COALESCE(r.api_key_id, 0) AS api_key_id, r.endpoint, r.widget_id, r.status_code,
                r.response_time_ms, r.cached, r.billable_units, r.occurred_at
           FROM analytics.api_requests r
          WHERE r.recorded_xid >= lo AND r.recorded_xid < hi
            AND r.occurred_at >= t_from AND r.occurred_at < t_to),
       a AS (
         INSERT INTO analytics.rollup_api_daily AS t
                (org_id, usage_date, api_key_id, endpoint, requests, status_1xx, status_2xx, status_3xx,
                 status_4xx, status_5xx, cached, billable_units, latency, last_seen)
         SELECT b.org_id, b.usage_date, b.api_key_id, b.endpoint, count(*),
                count(*) FILTER (WHERE b.status_code < 200),
                count(*) FILTER (WHERE b.status_code BETWEEN 200 AND 299),
                count(*) FILTER (WHERE b.status_code BETWEEN 300 AND 399),
                count(*) FILTER (WHERE b.status_code BETWEEN 400 AND 499),
                count(*) FILTER (WHERE b.status_code >= 500), count(*) FILTER (WHERE b.cached),
                sum(b.billable_units), analytics.latency_sketch_agg(b.response_time_ms), max(b.occurred_at)
           FROM b
          GROUP BY b.org_id, b.usage_date, b.api_key_id, b.endpoint
         ON CONFLICT (org_id, usage_date, api_key_id, endpoint) DO UPDATE
            SET requests = t.requests + excluded.requests,
                status_1xx = t.status_1xx + excluded.status_1xx, status_2xx = t.status_2xx + excluded.status_2xx,
                status_3xx = t.status_3xx + excluded.status_3xx, status_4xx = t.status_4xx + excluded.status_4xx,
                status_5xx = t.status_5xx + excluded.status_5xx, cached = t.cached + excluded.cached,
                billable_units = t.billable_units + excluded.billable_units,
                latency = CASE WHEN excluded.latency IS NULL THEN t.latency
                               ELSE analytics.latency_sketch_union(t.latency, excluded.latency) END,
                last_seen = GREATEST(t.last_seen, excluded.last_seen)),
       w AS (
         INSERT INTO analytics.rollup_widget_daily AS t
                (org_id, widget_id, usage_date, requests, billable_units, last_seen)
         SELECT b.org_id, b.widget_id, b.usage_date, count(*), sum(b.billable_units), max(b.occurred_at)
           FROM b
          WHERE b.widget_id IS NOT NULL
          GROUP BY b.org_id, b.widget_id, b.usage_date
         ON CONFLICT (org_id, widget_id, usage_date) DO UPDATE
            SET requests = t.requests + excluded.requests,
                billable_units = t.billable_units + excluded.billable_units,
                last_seen = GREATEST(t.last_seen, excluded.last_seen))
  SELECT count(*) INTO n FROM b;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.fold_api_requests(bigint, bigint, date, date) IS
  'Folds the API requests of a transaction-id range (and UTC date range) into rollup_api_daily and rollup_widget_daily; returns how many (internal)';
REVOKE ALL ON FUNCTION analytics.fold_api_requests(bigint, bigint, date, date) FROM PUBLIC;
