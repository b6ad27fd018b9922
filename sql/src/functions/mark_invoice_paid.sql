CREATE OR REPLACE FUNCTION analytics.mark_invoice_paid(invoice_id bigint,
    paid_at timestamptz DEFAULT pg_catalog.now(), payment_reference text DEFAULT NULL)
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  inv analytics.invoices;
BEGIN
  IF mark_invoice_paid.invoice_id IS NULL OR mark_invoice_paid.paid_at IS NULL THEN
    RAISE EXCEPTION 'invoice_id and paid_at must not be null' USING ERRCODE = '23502';
  END IF;
  SELECT * INTO inv FROM analytics.invoices i WHERE i.invoice_id = mark_invoice_paid.invoice_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invoice % does not exist', mark_invoice_paid.invoice_id USING ERRCODE = '42704';
  END IF;
  IF inv.status = 'paid' THEN
    RETURN false;
  END IF;
  IF inv.status <> 'finalized' THEN
    RAISE EXCEPTION 'invoice % is %: only a finalized invoice can be paid', mark_invoice_paid.invoice_id, inv.status
      USING ERRCODE = '55000';
  END IF;
  UPDATE analytics.invoices i
     SET status = 'paid', paid_at = mark_invoice_paid.paid_at, payment_reference = mark_invoice_paid.payment_reference
   WHERE i.invoice_id = mark_invoice_paid.invoice_id;
  -- Paid up: past_due again active.
  UPDATE analytics.subscriptions x SET status = 'active'
   WHERE x.subscription_id = inv.subscription_id AND x.status = 'past_due'
     AND NOT EXISTS (SELECT 1 FROM analytics.invoices i
                      WHERE i.subscription_id = x.subscription_id AND i.status = 'finalized'
                        AND i.due_date < (pg_catalog.now() AT TIME ZONE i.time_zone)::date);
  RETURN true;
END
$$;
COMMENT ON FUNCTION analytics.mark_invoice_paid(bigint, timestamptz, text) IS
  'Marks a finalized invoice paid (paid_at, payment_reference); false when it was paid already; 55000 for a draft or void one; a past_due subscription with nothing else overdue becomes active';
REVOKE ALL ON FUNCTION analytics.mark_invoice_paid(bigint, timestamptz, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'FUNCTION', 'analytics.mark_invoice_paid(bigint, timestamptz, text)', 'EXECUTE', false),
  ('admin', 'FUNCTION', 'analytics.mark_invoice_paid(bigint, timestamptz, text)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
