-- Makes the draft invoice of one subscription and billing period: base fee,
-- usage per meter, adjustments of earlier invoices, credits, tax.  Returns
-- its id, or NULL when the period has an invoice already.  Internal
-- (generate_invoices).
CREATE OR REPLACE FUNCTION analytics.invoice_period(subscription_id bigint, period_start date,
    period_end date, cycle_start date, cycle_end date, as_of timestamptz)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  -- Every read here is by key; the plans are cached while one run makes
  -- thousands of invoices and lines (a plan made for the empty tables of a
  -- first run would scan them at every subject).
  SET enable_seqscan = off
  AS $$
DECLARE
  s analytics.subscriptions;
  p analytics.plans;
  v_tz text;
  v_tax_rate numeric := 0;
  v_minor integer;
  v_id bigint;
  v_line integer := 0;
  v_base numeric;
  v_amount numeric;
  v_usage jsonb;
  v_prev_usage jsonb;
  v_prev_id bigint := NULL;
  v_cur numeric;
  v_rem_base numeric := 0;
  v_rem_usage numeric := 0;
  v_credits numeric := 0;
  v_take numeric;
  v_take_base numeric;
  v_balance numeric;
  v_subtotal numeric;
  v_end_at timestamptz;
  c record;
  l record;
  g record;
BEGIN
  SELECT * INTO s FROM analytics.subscriptions x WHERE x.subscription_id = invoice_period.subscription_id;
  SELECT * INTO p FROM analytics.plans x WHERE x.plan_id = s.plan_id;
  IF s.org_id IS NOT NULL THEN
    SELECT o.time_zone, o.tax_rate INTO v_tz, v_tax_rate FROM analytics.organizations o WHERE o.org_id = s.org_id;
  ELSE
    v_tz := s.time_zone;
  END IF;
  SELECT cu.minor_unit INTO v_minor FROM analytics.currencies cu WHERE cu.currency = p.currency;
  v_end_at := invoice_period.period_end::timestamp AT TIME ZONE v_tz;

  -- generate_invoices holds the invoicing lock: no other transaction makes
  -- invoices meanwhile (the unique key is the backstop).
  INSERT INTO analytics.invoices AS i (org_id, user_id, subscription_id, plan_id, currency, time_zone,
      period_start, period_end, period_start_at, period_end_at, tax_rate, due_date, as_of)
  VALUES (s.org_id, s.user_id, s.subscription_id, s.plan_id, p.currency, v_tz,
          invoice_period.period_start, invoice_period.period_end,
          invoice_period.period_start::timestamp AT TIME ZONE v_tz, v_end_at,
          v_tax_rate, invoice_period.period_end + p.payment_terms_days, invoice_period.as_of)
  ON CONFLICT ON CONSTRAINT invoices_period_once DO NOTHING
  RETURNING i.invoice_id INTO v_id;
  IF v_id IS NULL THEN
    RETURN NULL;
  END IF;

  -- Base fee, prorated by days when the period is cut by the
  -- subscription's start or end.
  v_base := CASE p.billing_cycle WHEN 'yearly' THEN COALESCE(p.price_per_year, 12 * p.price_per_month)
                                 ELSE p.price_per_month END;
  IF v_base > 0 THEN
    v_line := v_line + 1;
    v_amount := pg_catalog.round(v_base * (invoice_period.period_end - invoice_period.period_start)
                                 / (invoice_period.cycle_end - invoice_period.cycle_start), v_minor);
    INSERT INTO analytics.invoice_lines (invoice_id, line_no, org_id, user_id, kind, description, quantity,
        unit_price, proration, amount, period_start, period_end)
    VALUES (v_id, v_line, s.org_id, s.user_id, 'base',
            p.name || ' (' || p.billing_cycle || ')'
              || CASE WHEN invoice_period.period_end - invoice_period.period_start
                           < invoice_period.cycle_end - invoice_period.cycle_start
                      THEN pg_catalog.format(', %s of %s days', invoice_period.period_end - invoice_period.period_start,
                                             invoice_period.cycle_end - invoice_period.cycle_start)
                      ELSE '' END,
            invoice_period.period_end - invoice_period.period_start, v_base,
            pg_catalog.round((invoice_period.period_end - invoice_period.period_start)::numeric
                             / (invoice_period.cycle_end - invoice_period.cycle_start), 6),
            v_amount, invoice_period.period_start, invoice_period.period_end);
    v_rem_base := v_amount;
  END IF;

  -- Usage: every meter the plan charges, from the counters and rollups.
  v_usage := analytics.subject_usage(s.org_id, s.user_id, invoice_period.period_start, invoice_period.period_end);
  FOR c IN
    SELECT pp.meter_id, pp.pricing, m.name, m.unit, (v_usage->>m.quantity)::numeric * (1 + m.markup) AS q
      FROM analytics.plan_pricing(s.plan_id) pp JOIN analytics.meters m ON m.meter_id = pp.meter_id
     ORDER BY pp.meter_id
  LOOP
    v_line := v_line + 1;
    INSERT INTO analytics.invoice_lines (invoice_id, line_no, org_id, user_id, kind, meter_id, description,
        quantity, included_quantity, overage_quantity, blocks, unit_price, amount, period_start, period_end, pricing)
    SELECT v_id, v_line, s.org_id, s.user_id, 'usage', c.meter_id,
           c.name || ': ' || c.q || ' ' || c.unit || CASE WHEN c.q = 1 THEN '' ELSE 's' END
             || ', ' || (c.pricing->>'included_units') || ' included',
           c.q, LEAST(c.q, (c.pricing->>'included_units')::numeric),
           GREATEST(c.q - (c.pricing->>'included_units')::numeric, 0),
           pu.blocks, pu.unit_price, COALESCE(pu.amount, 0), invoice_period.period_start,
           invoice_period.period_end, c.pricing
      FROM (SELECT 1) one
      LEFT JOIN analytics.price_usage(c.q, c.pricing, v_minor) pu ON pu.kind = 'usage';
    FOR l IN SELECT * FROM analytics.price_usage(c.q, c.pricing, v_minor) pu WHERE pu.kind = 'tier' LOOP
      v_line := v_line + 1;
      INSERT INTO analytics.invoice_lines (invoice_id, line_no, org_id, user_id, kind, meter_id, description,
          quantity, overage_quantity, blocks, unit_price, amount, period_start, period_end)
      VALUES (v_id, v_line, s.org_id, s.user_id, 'tier', c.meter_id,
              c.name || ': tier from ' || l.tier_from || COALESCE(' to ' || l.tier_to, '') || ' over the included',
              c.q, l.overage, l.blocks, l.unit_price, l.amount, invoice_period.period_start, invoice_period.period_end);
    END LOOP;
  END LOOP;

  -- Adjustments: an earlier invoice of the subject whose metered quantity
  -- has changed since (late events, corrections) is corrected here, priced
  -- as that invoice priced it.  Voided invoices are neither corrected nor
  -- correcting; invoices in another currency (an earlier plan's) are not
  -- corrected here.
  FOR l IN
    SELECT pl.invoice_id, pl.meter_id, pl.pricing, pl.period_start, pl.period_end, pi.invoice_number,
           m.name, m.quantity AS what, m.markup,
           pl.quantity + COALESCE((SELECT sum(a.quantity) FROM analytics.invoice_lines a
                                     JOIN analytics.invoices ai ON ai.invoice_id = a.invoice_id
                                    WHERE a.adjusts_invoice_id = pl.invoice_id AND a.meter_id = pl.meter_id
                                      AND a.kind = 'adjustment' AND ai.status <> 'void'), 0) AS billed
      FROM analytics.invoices pi
      JOIN analytics.invoice_lines pl ON pl.invoice_id = pi.invoice_id AND pl.kind = 'usage'
      JOIN analytics.meters m ON m.meter_id = pl.meter_id
     WHERE pi.invoice_id IN (SELECT x.invoice_id FROM analytics.invoices x WHERE x.org_id = s.org_id
                             UNION ALL
                             SELECT x.invoice_id FROM analytics.invoices x WHERE x.user_id = s.user_id)
       AND pi.invoice_id <> v_id AND pi.status <> 'void' AND pi.currency = p.currency
       AND pi.period_start < invoice_period.period_start
     ORDER BY pi.period_start, pi.invoice_id, pl.meter_id
  LOOP
    IF v_prev_id IS DISTINCT FROM l.invoice_id THEN
      v_prev_usage := analytics.subject_usage(s.org_id, s.user_id, l.period_start, l.period_end);
      v_prev_id := l.invoice_id;
    END IF;
    v_cur := (v_prev_usage->>l.what)::numeric * (1 + l.markup);
    IF v_cur <> l.billed THEN
      v_line := v_line + 1;
      INSERT INTO analytics.invoice_lines (invoice_id, line_no, org_id, user_id, kind, meter_id, description,
          quantity, amount, period_start, period_end, adjusts_invoice_id, pricing)
      VALUES (v_id, v_line, s.org_id, s.user_id, 'adjustment', l.meter_id,
              l.name || ': ' || CASE WHEN v_cur > l.billed THEN '+' ELSE '' END || (v_cur - l.billed)
                || ' for ' || l.period_start || ' to ' || l.period_end
                || COALESCE(' (' || l.invoice_number || ')', ' (invoice ' || l.invoice_id || ')'),
              v_cur - l.billed,
              (SELECT COALESCE(sum(x.amount), 0) FROM analytics.price_usage(v_cur, l.pricing, v_minor) x)
                - (SELECT COALESCE(sum(x.amount), 0) FROM analytics.price_usage(l.billed, l.pricing, v_minor) x),
              l.period_start, l.period_end, l.invoice_id, l.pricing);
    END IF;
  END LOOP;

  -- Prepaid credits, before anything is charged: usage grants cover usage
  -- and adjustments, 'all' grants the base fee first, then usage; lowest
  -- priority number first, then the earliest expiry.  Grants must be in
  -- force at the end of the period.
  SELECT COALESCE(sum(x.amount), 0) INTO v_rem_usage FROM analytics.invoice_lines x
   WHERE x.invoice_id = v_id AND x.kind IN ('usage', 'tier', 'adjustment');
  v_rem_usage := GREATEST(v_rem_usage, 0);
  IF v_rem_usage + v_rem_base > 0 THEN
    FOR g IN
      SELECT cg.grant_id, cg.amount, cg.applies_to, cg.name
        FROM analytics.credit_grants cg
       WHERE cg.grant_id IN (SELECT x.grant_id FROM analytics.credit_grants x WHERE x.org_id = s.org_id
                             UNION ALL
                             SELECT x.grant_id FROM analytics.credit_grants x WHERE x.user_id = s.user_id)
         AND cg.currency = p.currency AND cg.voided_at IS NULL
         AND cg.effective_at < v_end_at AND (cg.expires_at IS NULL OR cg.expires_at >= v_end_at)
       ORDER BY cg.priority, cg.expires_at NULLS LAST, cg.grant_id
       FOR UPDATE
    LOOP
      SELECT g.amount - COALESCE(sum(cc.amount), 0) INTO v_balance
        FROM analytics.credit_consumptions cc WHERE cc.grant_id = g.grant_id;
      -- Whole minor units only.
      v_balance := pg_catalog.trunc(v_balance, v_minor);
      CONTINUE WHEN v_balance <= 0;
      v_take_base := 0;
      IF g.applies_to = 'all' THEN
        v_take_base := LEAST(v_balance, v_rem_base);
        v_rem_base := v_rem_base - v_take_base;
      END IF;
      v_take := LEAST(v_balance - v_take_base, v_rem_usage);
      v_rem_usage := v_rem_usage - v_take;
      v_take := v_take + v_take_base;
      CONTINUE WHEN v_take <= 0;
      v_line := v_line + 1;
      INSERT INTO analytics.invoice_lines (invoice_id, line_no, org_id, user_id, kind, description, quantity,
          unit_price, amount, period_start, period_end, credit_grant_id)
      VALUES (v_id, v_line, s.org_id, s.user_id, 'credit',
              'Prepaid credit' || COALESCE(' "' || g.name || '"', '') || ' (grant ' || g.grant_id || ')',
              1, -v_take, -v_take, invoice_period.period_start, invoice_period.period_end, g.grant_id);
      INSERT INTO analytics.credit_consumptions (grant_id, invoice_id, org_id, user_id, amount)
      VALUES (g.grant_id, v_id, s.org_id, s.user_id, v_take);
      v_credits := v_credits + v_take;
      EXIT WHEN v_rem_usage + v_rem_base <= 0;
    END LOOP;
  END IF;

  SELECT COALESCE(sum(x.amount), 0) INTO v_subtotal FROM analytics.invoice_lines x WHERE x.invoice_id = v_id;
  UPDATE analytics.invoices i
     SET subtotal = v_subtotal,
         tax = pg_catalog.round(v_subtotal * v_tax_rate, v_minor),
         total = v_subtotal + pg_catalog.round(v_subtotal * v_tax_rate, v_minor),
         credits_applied = v_credits
   WHERE i.invoice_id = v_id;
  RETURN v_id;
END
$$;
COMMENT ON FUNCTION analytics.invoice_period(bigint, date, date, date, date, timestamptz) IS
  'Makes the draft invoice of a subscription''s billing period (base fee prorated by days, usage per meter with tiers, adjustments of the subject''s earlier invoices, prepaid credits, tax); NULL when the period has one already (internal to generate_invoices)';
REVOKE ALL ON FUNCTION analytics.invoice_period(bigint, date, date, date, date, timestamptz) FROM PUBLIC;
