CREATE OR REPLACE FUNCTION analytics.verify_invoices(from_date date DEFAULT NULL, to_date date DEFAULT NULL)
  RETURNS TABLE (invoice_id bigint, invoice_number text, org_id text, user_id text, meter_id text,
                 period_start date, period_end date, invoiced numeric, counted numeric, logged numeric,
                 matches boolean)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    WITH l AS (
      -- What was invoiced for each meter and period: the usage line and
      -- every adjustment of it on a later invoice that is not void.
      SELECT i.invoice_id, i.invoice_number, i.org_id, i.user_id, u.meter_id, i.period_start, i.period_end,
             m.quantity AS what, m.markup,
             u.quantity + COALESCE((SELECT sum(a.quantity) FROM analytics.invoice_lines a
                                      JOIN analytics.invoices ai ON ai.invoice_id = a.invoice_id
                                     WHERE a.adjusts_invoice_id = i.invoice_id AND a.meter_id = u.meter_id
                                       AND a.kind = 'adjustment' AND ai.status <> 'void'), 0) AS invoiced
        FROM analytics.invoices i
        JOIN analytics.invoice_lines u ON u.invoice_id = i.invoice_id AND u.kind = 'usage'
        JOIN analytics.meters m ON m.meter_id = u.meter_id
       WHERE i.status <> 'void'
         AND (verify_invoices.from_date IS NULL OR i.period_end > verify_invoices.from_date)
         AND (verify_invoices.to_date IS NULL OR i.period_start < verify_invoices.to_date)
    )
    SELECT l.invoice_id, l.invoice_number, l.org_id, l.user_id, l.meter_id, l.period_start, l.period_end,
           l.invoiced, q.counted, q.logged, l.invoiced = q.counted AND q.counted = q.logged
      FROM l,
           LATERAL (SELECT (analytics.subject_usage(l.org_id, l.user_id, l.period_start, l.period_end)->>l.what)::numeric
                             * (1 + l.markup) AS counted,
                           (analytics.subject_usage_of_log(l.org_id, l.user_id, l.period_start, l.period_end)->>l.what)::numeric
                             * (1 + l.markup) AS logged) q
     ORDER BY l.invoice_id, l.meter_id
  $$;
COMMENT ON FUNCTION analytics.verify_invoices(date, date) IS
  'For every invoice that is not void (of periods meeting [from_date, to_date)) and meter: the quantity invoiced (its usage line plus later adjustments), the counters'' and rollups'' (counted) and the raw log''s (logged); matches when all three are equal (after a fold; a difference not yet invoiced is the next invoice''s adjustment)';
REVOKE ALL ON FUNCTION analytics.verify_invoices(date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'FUNCTION', 'analytics.verify_invoices(date, date)', 'EXECUTE', false),
  ('admin', 'FUNCTION', 'analytics.verify_invoices(date, date)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
