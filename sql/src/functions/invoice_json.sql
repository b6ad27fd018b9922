/*
 * An invoice as JSON shaped like a payment provider's invoice (Stripe's
 * field names): amounts are integers in the minor unit of the currency
 * (currencies.minor_unit: USD cents, JPY yen), exact because every amount
 * of an invoice is rounded to that unit; the currency is the lower-case
 * ISO 4217 code; instants (created, period_start, period_end, due_date)
 * are Unix epoch seconds, periods half-open [start, end).  status is the
 * provider's word (draft, open, paid, void; open = finalized), metadata
 * carries the extension's ids as strings.  Each line: description,
 * quantity (the blocks of a line whose amount is blocks x block price,
 * else 1: a base fee, a credit, a tier with a flat fee),
 * unit_amount_decimal (the price of one, in minor units, as a decimal
 * string: providers take fractions of a minor unit), unit_amount (the
 * same as an integer when it is whole, else null), amount, period and
 * metadata (kind, meter, the measured quantity, included and overage
 * units, proration).  Row-level security decides: an invoice the caller
 * may not read is unknown (42704).
 */
CREATE OR REPLACE FUNCTION analytics.invoice_json(invoice_id bigint) RETURNS jsonb
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  inv analytics.invoices;
  scale numeric;
  digits integer;
  cust jsonb;
  lines jsonb;
BEGIN
  IF invoice_json.invoice_id IS NULL THEN
    RAISE EXCEPTION 'invoice_id must not be null' USING ERRCODE = '23502';
  END IF;
  SELECT * INTO inv FROM analytics.invoices i WHERE i.invoice_id = invoice_json.invoice_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invoice % does not exist', invoice_json.invoice_id USING ERRCODE = '42704';
  END IF;
  SELECT c.minor_unit INTO digits FROM analytics.currencies c WHERE c.currency = inv.currency;
  scale := power(10::numeric, digits);
  IF inv.org_id IS NOT NULL THEN
    SELECT jsonb_build_object('id', 'org:' || inv.org_id, 'type', 'organization', 'org_id', inv.org_id,
                              'name', o.name, 'email', o.billing_email)
      INTO cust FROM analytics.organizations o WHERE o.org_id = inv.org_id;
    cust := COALESCE(cust, jsonb_build_object('id', 'org:' || inv.org_id, 'type', 'organization', 'org_id', inv.org_id));
  ELSE
    cust := jsonb_build_object('id', 'user:' || inv.user_id, 'type', 'user', 'user_id', inv.user_id);
  END IF;
  SELECT COALESCE(jsonb_agg(jsonb_build_object(
           'description', l.description,
           'quantity', q.quantity,
           'unit_amount_decimal', trim_scale(q.unit * scale)::text,
           'unit_amount', CASE WHEN q.unit * scale = trunc(q.unit * scale) THEN (q.unit * scale)::bigint END,
           'amount', (l.amount * scale)::bigint,
           'period', jsonb_build_object(
             'start', extract(epoch FROM (COALESCE(l.period_start, inv.period_start)::timestamp AT TIME ZONE inv.time_zone))::bigint,
             'end', extract(epoch FROM (COALESCE(l.period_end, inv.period_end)::timestamp AT TIME ZONE inv.time_zone))::bigint),
           'metadata', jsonb_strip_nulls(jsonb_build_object(
             'line_no', l.line_no::text, 'kind', l.kind, 'meter_id', l.meter_id,
             'usage_quantity', l.quantity::text, 'included_quantity', l.included_quantity::text,
             'overage_quantity', l.overage_quantity::text, 'proration', l.proration::text,
             'adjusts_invoice_id', l.adjusts_invoice_id::text, 'credit_grant_id', l.credit_grant_id::text)))
           ORDER BY l.line_no), '[]')
    INTO lines
    FROM analytics.invoice_lines l
   CROSS JOIN LATERAL (
     -- Billed units and the price of one: the blocks and the block price
     -- when the line's amount is exactly their product (rounded to the
     -- minor unit), else one unit costing the whole amount (a base fee, a
     -- credit, a tier with a flat fee).
     SELECT CASE WHEN p.exact THEN l.blocks ELSE 1 END AS quantity,
            CASE WHEN p.exact THEN l.unit_price ELSE l.amount END AS unit
       FROM (SELECT COALESCE(round(l.blocks * l.unit_price, digits) = l.amount, false) AS exact) p) q
   WHERE l.invoice_id = inv.invoice_id;
  RETURN jsonb_build_object(
    'object', 'invoice',
    'number', inv.invoice_number,
    'status', CASE inv.status WHEN 'finalized' THEN 'open' ELSE inv.status END,
    'customer', cust,
    'currency', lower(inv.currency),
    'currency_minor_unit', digits,
    'created', extract(epoch FROM COALESCE(inv.finalized_at, inv.generated_at))::bigint,
    'period_start', extract(epoch FROM inv.period_start_at)::bigint,
    'period_end', extract(epoch FROM inv.period_end_at)::bigint,
    'due_date', extract(epoch FROM (inv.due_date::timestamp AT TIME ZONE inv.time_zone))::bigint,
    'lines', lines,
    'subtotal', (inv.subtotal * scale)::bigint,
    'tax', (inv.tax * scale)::bigint,
    'tax_percent', trim_scale(inv.tax_rate * 100)::text,
    'total', (inv.total * scale)::bigint,
    'amount_due', CASE WHEN inv.status = 'finalized' THEN greatest(inv.total * scale, 0)::bigint ELSE 0 END,
    'amount_paid', CASE WHEN inv.status = 'paid' THEN (inv.total * scale)::bigint ELSE 0 END,
    'metadata', jsonb_strip_nulls(jsonb_build_object(
      'usage_analytics_invoice_id', inv.invoice_id::text,
      'invoice_number', inv.invoice_number,
      'status', inv.status,
      'subscription_id', inv.subscription_id::text,
      'plan_id', inv.plan_id,
      'org_id', inv.org_id,
      'user_id', inv.user_id,
      'period_start_local', to_char(inv.period_start, 'YYYY-MM-DD'),
      'period_end_local', to_char(inv.period_end, 'YYYY-MM-DD'),
      'due_date_local', to_char(inv.due_date, 'YYYY-MM-DD'),
      'time_zone', inv.time_zone,
      'credits_applied', (inv.credits_applied * scale)::bigint::text)));
END
$$;
COMMENT ON FUNCTION analytics.invoice_json(bigint) IS
  'An invoice as a payment provider''s invoice JSON: lower-case ISO currency, amounts as integers in its minor unit, instants as Unix epoch seconds, lines with description, quantity, unit_amount(_decimal), amount and period, metadata with the extension''s ids; invoices the caller may not read are unknown (42704)';
REVOKE ALL ON FUNCTION analytics.invoice_json(bigint) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.invoice_json(bigint)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
