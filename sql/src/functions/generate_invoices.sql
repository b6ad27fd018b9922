CREATE OR REPLACE FUNCTION analytics.generate_invoices(as_of timestamptz DEFAULT pg_catalog.now())
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n integer := 0;
  v_from date;
  s record;
  per record;
  due bigint[];
BEGIN
  IF generate_invoices.as_of IS NULL OR NOT pg_catalog.isfinite(generate_invoices.as_of) THEN
    RAISE EXCEPTION 'as_of must be a finite timestamp' USING ERRCODE = '22008';
  END IF;
  IF generate_invoices.as_of > pg_catalog.now() THEN
    RAISE EXCEPTION 'as_of must not be in the future' USING ERRCODE = '22008',
      HINT = 'A period is invoiced once it has ended.';
  END IF;
  -- One generation at a time (a second waits here, then finds the first's
  -- invoices): a subject's invoices, adjustments and credits are decided
  -- by one transaction.  One lock for the whole run, not one per subject.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('usage_analytics.generate_invoices', 0));
  -- The API rollups hold every request committed before this point.
  PERFORM analytics.fold();

  UPDATE analytics.subscriptions x SET status = 'active'
   WHERE x.status = 'trialing' AND x.trial_ends_at <= generate_invoices.as_of;
  UPDATE analytics.subscriptions x SET status = 'cancelled'
   WHERE x.status <> 'cancelled' AND x.cancelled_at IS NOT NULL AND x.ends_at <= generate_invoices.as_of;

  FOR s IN
    SELECT x.subscription_id, li.last_end
      FROM analytics.subscriptions x
      JOIN analytics.plans p ON p.plan_id = x.plan_id
      LEFT JOIN (SELECT i.subscription_id, max(i.period_end) AS last_end
                   FROM analytics.invoices i GROUP BY i.subscription_id) li ON li.subscription_id = x.subscription_id
     WHERE x.starts_at < generate_invoices.as_of
       AND (p.price_per_month > 0 OR p.price_per_year > 0 OR p.included_units IS NOT NULL
            OR p.overage_unit_price IS NOT NULL
            OR EXISTS (SELECT 1 FROM analytics.plan_charges c WHERE c.plan_id = p.plan_id))
     ORDER BY x.subscription_id
  LOOP
    FOR per IN
      SELECT * FROM analytics.subscription_periods(s.subscription_id, s.last_end, generate_invoices.as_of) sp
       WHERE sp.closes_at <= generate_invoices.as_of
       ORDER BY sp.period_start
    LOOP
      IF analytics.invoice_period(s.subscription_id, per.period_start, per.period_end, per.cycle_start,
                                  per.cycle_end, generate_invoices.as_of) IS NOT NULL THEN
        n := n + 1;
      END IF;
    END LOOP;
  END LOOP;

  -- A finalized invoice past its due date makes its subscription past_due.
  -- The ids first: on a Citus cluster subscriptions is a reference table
  -- and invoices a local one, which one modification cannot join.
  SELECT array_agg(DISTINCT i.subscription_id) INTO due
    FROM analytics.invoices i
   WHERE i.status = 'finalized'
     AND i.due_date < (generate_invoices.as_of AT TIME ZONE i.time_zone)::date;
  IF due IS NOT NULL THEN
    UPDATE analytics.subscriptions x SET status = 'past_due'
     WHERE x.status = 'active' AND x.subscription_id = ANY (due);
  END IF;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.generate_invoices(timestamptz) IS
  'Folds, then makes the draft invoice of every subscription''s billing period that has closed by as_of (its local and its UTC days over) and has none, from the counters and rollups (never the raw log); idempotent, also from concurrent sessions; updates subscription statuses (trialing -> active, cancelled, past_due); returns how many invoices it made';
REVOKE ALL ON FUNCTION analytics.generate_invoices(timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'FUNCTION', 'analytics.generate_invoices(timestamptz)', 'EXECUTE', false),
  ('admin', 'FUNCTION', 'analytics.generate_invoices(timestamptz)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
