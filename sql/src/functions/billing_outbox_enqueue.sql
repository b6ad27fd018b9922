/*
 * Trigger of invoices (deferred to commit): an invoice that left draft is
 * written to the billing outbox once, as the invoice (invoice_json) and as
 * one usage record per meter billed on it (the quantity of its usage or
 * tier lines for the invoice's period), each announced with NOTIFY
 * usage_analytics_billing, payload the outbox_id.  Exactly once per key:
 * ON CONFLICT on idempotency_key (a second status change of the same
 * invoice writes nothing).  It reads the invoice as it is at commit.
 */
CREATE OR REPLACE FUNCTION analytics.billing_outbox_enqueue() RETURNS trigger
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  inv analytics.invoices;
  k integer;
BEGIN
  SELECT * INTO inv FROM analytics.invoices i WHERE i.invoice_id = NEW.invoice_id;
  IF NOT FOUND OR inv.status = 'draft' THEN
    RETURN NULL;
  END IF;
  WITH msg AS (
    SELECT 'invoice' AS kind, NULL::text AS meter_id,
           'usage_analytics:invoice:' || inv.invoice_id AS idempotency_key,
           analytics.invoice_json(inv.invoice_id) AS payload, 0 AS ord
    UNION ALL
    SELECT 'usage_record', u.meter_id,
           'usage_analytics:usage_record:' || inv.invoice_id || ':' || u.meter_id,
           jsonb_build_object(
             'object', 'usage_record',
             'action', 'set',
             'customer', CASE WHEN inv.org_id IS NOT NULL THEN 'org:' || inv.org_id ELSE 'user:' || inv.user_id END,
             'meter', u.meter_id,
             'quantity', u.quantity,
             'unit', m.unit,
             'period', jsonb_build_object('start', extract(epoch FROM inv.period_start_at)::bigint,
                                          'end', extract(epoch FROM inv.period_end_at)::bigint),
             'timestamp', extract(epoch FROM inv.period_end_at)::bigint - 1,
             'metadata', jsonb_strip_nulls(jsonb_build_object(
               'usage_analytics_invoice_id', inv.invoice_id::text,
               'invoice_number', inv.invoice_number,
               'subscription_id', inv.subscription_id::text,
               'plan_id', inv.plan_id,
               'org_id', inv.org_id,
               'user_id', inv.user_id,
               'period_start_local', to_char(inv.period_start, 'YYYY-MM-DD'),
               'period_end_local', to_char(inv.period_end, 'YYYY-MM-DD'),
               'time_zone', inv.time_zone))),
           1
      FROM (SELECT DISTINCT ON (l.meter_id) l.meter_id, l.quantity
              FROM analytics.invoice_lines l
             WHERE l.invoice_id = inv.invoice_id AND l.kind IN ('usage', 'tier') AND l.meter_id IS NOT NULL
             ORDER BY l.meter_id, l.line_no) u
      JOIN analytics.meters m ON m.meter_id = u.meter_id
     ORDER BY 5, 2),
  ins AS (
    INSERT INTO analytics.billing_outbox AS o (kind, org_id, user_id, invoice_id, meter_id, idempotency_key, payload)
    SELECT msg.kind, inv.org_id, inv.user_id, inv.invoice_id, msg.meter_id, msg.idempotency_key, msg.payload
      FROM msg ORDER BY msg.ord, msg.meter_id
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING o.outbox_id)
  SELECT count(pg_notify('usage_analytics_billing', ins.outbox_id::text)) INTO k FROM ins;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION analytics.billing_outbox_enqueue() IS
  'Trigger of invoices, at commit: writes a finalized invoice and its meters'' usage records to billing_outbox once (by idempotency_key) and announces each row with NOTIFY usage_analytics_billing (payload outbox_id) (internal)';
REVOKE ALL ON FUNCTION analytics.billing_outbox_enqueue() FROM PUBLIC;
