-- The billing periods of a subscription (README "Billing").  Internal.
CREATE OR REPLACE FUNCTION analytics.subscription_periods(subscription_id bigint,
    from_date date DEFAULT NULL, until timestamptz DEFAULT NULL)
  RETURNS TABLE (period_start date, period_end date, cycle_start date, cycle_end date,
                 proration numeric, period_start_at timestamptz, period_end_at timestamptz,
                 closes_at timestamptz, time_zone text)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN QUERY
    WITH s AS (
      SELECT CASE WHEN sub.org_id IS NOT NULL THEN o.time_zone ELSE sub.time_zone END AS tz,
             sub.starts_at, sub.ends_at, sub.trial_ends_at, sub.billing_anchor,
             CASE p.billing_cycle WHEN 'yearly' THEN 12 ELSE 1 END AS months
        FROM analytics.subscriptions sub
        JOIN analytics.plans p ON p.plan_id = sub.plan_id
        LEFT JOIN analytics.organizations o ON o.org_id = sub.org_id
       WHERE sub.subscription_id = subscription_periods.subscription_id
    ), b AS (
      SELECT s.tz, s.months,
             (GREATEST(s.starts_at, COALESCE(s.trial_ends_at, s.starts_at)) AT TIME ZONE s.tz)::date AS span_start,
             (s.ends_at AT TIME ZONE s.tz)::date AS span_end,
             (COALESCE(s.billing_anchor, s.trial_ends_at, s.starts_at) AT TIME ZONE s.tz)::date AS anchor
        FROM s
    ), r AS (
      -- The periods from the one holding lo to the one holding hi.
      SELECT b.*, GREATEST(b.span_start, COALESCE(subscription_periods.from_date, b.span_start)) AS lo,
             LEAST(b.span_end, ((subscription_periods.until AT TIME ZONE b.tz)::date + 1)) AS hi
        FROM b
    ), k AS (
      SELECT r.*, g.k,
             (r.anchor + pg_catalog.make_interval(months => g.k * r.months))::date AS cs,
             (r.anchor + pg_catalog.make_interval(months => (g.k + 1) * r.months))::date AS ce
        FROM r,
             LATERAL pg_catalog.generate_series(
               ((EXTRACT(year FROM r.lo)::int - EXTRACT(year FROM r.anchor)::int) * 12
                + EXTRACT(month FROM r.lo)::int - EXTRACT(month FROM r.anchor)::int) / r.months - 2,
               ((EXTRACT(year FROM r.hi)::int - EXTRACT(year FROM r.anchor)::int) * 12
                + EXTRACT(month FROM r.hi)::int - EXTRACT(month FROM r.anchor)::int) / r.months + 1) AS g(k)
       WHERE r.hi IS NOT NULL AND r.hi > r.lo
    )
    SELECT GREATEST(k.cs, k.span_start), LEAST(k.ce, k.span_end), k.cs, k.ce,
           (LEAST(k.ce, k.span_end) - GREATEST(k.cs, k.span_start))::numeric / (k.ce - k.cs),
           GREATEST(k.cs, k.span_start)::timestamp AT TIME ZONE k.tz,
           LEAST(k.ce, k.span_end)::timestamp AT TIME ZONE k.tz,
           GREATEST(LEAST(k.ce, k.span_end)::timestamp AT TIME ZONE k.tz,
                    LEAST(k.ce, k.span_end)::timestamp AT TIME ZONE 'UTC'),
           k.tz
      FROM k
     WHERE GREATEST(k.cs, k.span_start) < LEAST(k.ce, k.span_end)
       AND GREATEST(k.cs, k.span_start) >= k.lo
       AND GREATEST(k.cs, k.span_start) < k.hi
     ORDER BY 1;
END
$$;
COMMENT ON FUNCTION analytics.subscription_periods(bigint, date, timestamptz) IS
  'Billing periods of a subscription starting on or after from_date and before until (local days of the subject''s time zone): the billed days [period_start, period_end), the whole anniversary period [cycle_start, cycle_end), the billed share, and closes_at, when both its local and its UTC days are over (internal)';
REVOKE ALL ON FUNCTION analytics.subscription_periods(bigint, date, timestamptz) FROM PUBLIC;
