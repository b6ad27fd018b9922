CREATE OR REPLACE FUNCTION analytics.finalize_invoice(invoice_id bigint)
  RETURNS text
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  inv analytics.invoices;
  v_year integer;
  v_seq bigint;
  v_number text;
BEGIN
  IF finalize_invoice.invoice_id IS NULL THEN
    RAISE EXCEPTION 'invoice_id must not be null' USING ERRCODE = '23502';
  END IF;
  SELECT * INTO inv FROM analytics.invoices i WHERE i.invoice_id = finalize_invoice.invoice_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invoice % does not exist', finalize_invoice.invoice_id USING ERRCODE = '42704';
  END IF;
  IF inv.status <> 'draft' THEN
    RAISE EXCEPTION 'invoice % is % already: only a draft can be finalized', finalize_invoice.invoice_id, inv.status
      USING ERRCODE = '55000';
  END IF;
  -- The year's counter row stays locked until this transaction ends: the
  -- next finalization waits for it, and a rollback takes the number back.
  v_year := EXTRACT(year FROM (pg_catalog.now() AT TIME ZONE inv.time_zone))::integer;
  INSERT INTO analytics.invoice_number_counters AS c (year, last_number) VALUES (v_year, 1)
  ON CONFLICT (year) DO UPDATE SET last_number = c.last_number + 1
  RETURNING c.last_number INTO v_seq;
  v_number := 'INV-' || v_year || '-' || CASE WHEN v_seq < 1000000 THEN pg_catalog.lpad(v_seq::text, 6, '0')
                                               ELSE v_seq::text END;
  UPDATE analytics.invoices i
     SET status = 'finalized', invoice_number = v_number, number_year = v_year, number_seq = v_seq,
         finalized_at = pg_catalog.now(),
         line_count = (SELECT count(*) FROM analytics.invoice_lines l WHERE l.invoice_id = finalize_invoice.invoice_id)
   WHERE i.invoice_id = finalize_invoice.invoice_id;
  RETURN v_number;
END
$$;
COMMENT ON FUNCTION analytics.finalize_invoice(bigint) IS
  'Finalizes a draft invoice: assigns the next number of the year (INV-YYYY-NNNNNN, gapless: the year''s counter row is locked until the transaction ends) and makes the invoice immutable; returns the number; 55000 when it is not a draft';
REVOKE ALL ON FUNCTION analytics.finalize_invoice(bigint) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'FUNCTION', 'analytics.finalize_invoice(bigint)', 'EXECUTE', false),
  ('admin', 'FUNCTION', 'analytics.finalize_invoice(bigint)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
