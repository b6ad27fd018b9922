CREATE OR REPLACE FUNCTION analytics.void_invoice(invoice_id bigint, reason text DEFAULT NULL)
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  inv analytics.invoices;
BEGIN
  IF void_invoice.invoice_id IS NULL THEN
    RAISE EXCEPTION 'invoice_id must not be null' USING ERRCODE = '23502';
  END IF;
  SELECT * INTO inv FROM analytics.invoices i WHERE i.invoice_id = void_invoice.invoice_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invoice % does not exist', void_invoice.invoice_id USING ERRCODE = '42704';
  END IF;
  IF inv.status = 'void' THEN
    RETURN false;
  END IF;
  IF inv.status = 'paid' THEN
    RAISE EXCEPTION 'invoice % is paid: a paid invoice cannot be voided', void_invoice.invoice_id
      USING ERRCODE = '55000', HINT = 'Refund it outside, or grant a credit.';
  END IF;
  UPDATE analytics.invoices i
     SET status = 'void', voided_at = pg_catalog.now(), void_reason = void_invoice.reason,
         line_count = COALESCE(i.line_count,
                               (SELECT count(*) FROM analytics.invoice_lines l WHERE l.invoice_id = void_invoice.invoice_id))
   WHERE i.invoice_id = void_invoice.invoice_id;
  -- Its credits are given back.
  INSERT INTO analytics.credit_consumptions (grant_id, invoice_id, org_id, user_id, amount)
  SELECT cc.grant_id, cc.invoice_id, cc.org_id, cc.user_id, -sum(cc.amount)
    FROM analytics.credit_consumptions cc
   WHERE cc.invoice_id = void_invoice.invoice_id
   GROUP BY cc.grant_id, cc.invoice_id, cc.org_id, cc.user_id
  HAVING sum(cc.amount) <> 0;
  RETURN true;
END
$$;
COMMENT ON FUNCTION analytics.void_invoice(bigint, text) IS
  'Voids a draft or finalized invoice (its number stays used; its period is not invoiced again; its credits are given back); false when it was void already; 55000 for a paid one';
REVOKE ALL ON FUNCTION analytics.void_invoice(bigint, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'FUNCTION', 'analytics.void_invoice(bigint, text)', 'EXECUTE', false),
  ('admin', 'FUNCTION', 'analytics.void_invoice(bigint, text)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
