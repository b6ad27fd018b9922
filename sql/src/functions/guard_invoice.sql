-- Finalized invoices never change: a trigger on invoices and invoice_lines.
CREATE OR REPLACE FUNCTION analytics.guard_invoice() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_status text;
  v_lines integer;
  v_id bigint;
BEGIN
  IF TG_TABLE_NAME = 'invoice_lines' THEN
    v_id := CASE TG_OP WHEN 'DELETE' THEN OLD.invoice_id ELSE NEW.invoice_id END;
    SELECT i.status, i.line_count INTO v_status, v_lines FROM analytics.invoices i WHERE i.invoice_id = v_id;
    -- A restore inserts the lines a finalized invoice had (1 to line_count,
    -- each once: the primary key); nothing else is ever added.
    IF TG_OP = 'INSERT' AND NEW.line_no <= v_lines THEN
      RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.invoice_id <> NEW.invoice_id AND v_status = 'draft' THEN
      SELECT i.status INTO v_status FROM analytics.invoices i WHERE i.invoice_id = OLD.invoice_id;
    END IF;
    IF v_status IS DISTINCT FROM 'draft' AND v_status IS NOT NULL THEN
      RAISE EXCEPTION 'invoice % is %: its lines cannot be changed', v_id, v_status
        USING ERRCODE = '55000',
              HINT = 'A finalized invoice is immutable: corrections become adjustment lines of a later invoice.';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF OLD.status = 'draft' THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  -- Past draft: finalized -> paid and finalized -> void only, changing
  -- nothing but the status and its own columns.
  IF TG_OP = 'UPDATE' AND OLD.status = 'finalized' AND NEW.status IN ('paid', 'void')
     AND (pg_catalog.to_jsonb(OLD) - '{status,paid_at,payment_reference,voided_at,void_reason}'::text[])
         = (pg_catalog.to_jsonb(NEW) - '{status,paid_at,payment_reference,voided_at,void_reason}'::text[])
     AND (NEW.status = 'paid' OR (NEW.paid_at IS NULL AND NEW.payment_reference IS NULL))
     AND (NEW.status = 'void' OR (NEW.voided_at IS NULL AND NEW.void_reason IS NULL)) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'invoice % is %: it cannot be changed', OLD.invoice_id, OLD.status
    USING ERRCODE = '55000',
          HINT = 'A finalized invoice is immutable: corrections become adjustment lines of a later invoice; mark_invoice_paid and void_invoice change its status.';
END
$$;
COMMENT ON FUNCTION analytics.guard_invoice() IS
  'Trigger: refuses (55000) every change of an invoice past draft but finalized -> paid or void, and every change of the lines of an invoice past draft';
REVOKE ALL ON FUNCTION analytics.guard_invoice() FROM PUBLIC;
