\set ECHO none
\i test/setup.psql
SELECT plan(39);

-- Export without network calls: invoice_json (a payment provider's invoice,
-- amounts in minor units) and the billing outbox (written when an invoice
-- is finalized, claimed with a lease, acknowledged).  Invoices are written
-- here directly, as billing.sql's functions write them: what is tested is
-- what happens from a row of invoices on.

CREATE ROLE ua_bx_app;
CREATE ROLE ua_bx_user;
CREATE ROLE ua_bx_admin;
SELECT analytics.grant_app_backend('ua_bx_app'), analytics.grant_end_user('ua_bx_user'),
       analytics.grant_admin('ua_bx_admin') \gset
SELECT analytics.create_organization('acme', 'Acme KK', currency => 'JPY', tax_rate => 0.1,
         billing_email => 'billing@acme.example', owner_id => 'own') \gset
SELECT analytics.create_organization('globex', 'Globex', owner_id => 'gx') \gset
SELECT analytics.add_member('acme', 'mem') \gset
INSERT INTO analytics.plans (plan_id, name, price_per_month, currency) VALUES
  ('jp', 'JP', 5000, 'JPY'), ('us', 'US', 20, 'USD'), ('kw', 'KW', 10, 'KWD');
SELECT analytics.subscribe(NULL, 'jp', '2026-01-01 00:00+09', org_id => 'acme') AS acme_sub,
       analytics.subscribe(NULL, 'us', '2026-01-01', org_id => 'globex') AS globex_sub,
       analytics.subscribe('ursula', 'kw', '2026-01-01') AS ursula_sub \gset

-- A draft invoice with its lines, as generate_invoices leaves it.
CREATE FUNCTION pg_temp.invoice(org text, usr text, sub bigint, plan text, cur text, tz text,
    subtotal numeric, tax_rate numeric, tax numeric, lines jsonb) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  id bigint;
BEGIN
  INSERT INTO analytics.invoices (org_id, user_id, subscription_id, plan_id, currency, time_zone, period_start, period_end,
                                  period_start_at, period_end_at, subtotal, tax_rate, tax, total, due_date, as_of)
  VALUES (org, usr, sub, plan, cur, tz, '2026-01-01', '2026-02-01',
          '2026-01-01'::timestamp AT TIME ZONE tz, '2026-02-01'::timestamp AT TIME ZONE tz,
          subtotal, tax_rate, tax, subtotal + tax, '2026-02-15', now())
  RETURNING invoice_id INTO id;
  INSERT INTO analytics.invoice_lines (invoice_id, line_no, org_id, user_id, kind, meter_id, description, quantity,
                                       included_quantity, overage_quantity, blocks, unit_price, proration, amount)
  SELECT id, l.ordinality, org, usr, l.value->>'kind', l.value->>'meter', l.value->>'description',
         (l.value->>'quantity')::numeric, (l.value->>'included')::numeric, (l.value->>'overage')::numeric,
         (l.value->>'blocks')::numeric, (l.value->>'unit_price')::numeric, (l.value->>'proration')::numeric,
         (l.value->>'amount')::numeric
    FROM jsonb_array_elements(lines) WITH ORDINALITY l;
  RETURN id;
END
$$;
CREATE FUNCTION pg_temp.finalize(id bigint, n integer) RETURNS void LANGUAGE sql AS $$
  UPDATE analytics.invoices SET status = 'finalized', invoice_number = 'INV-2026-' || lpad(n::text, 6, '0'),
         number_year = 2026, number_seq = n, finalized_at = now() WHERE invoice_id = id;
$$;

-- JPY (no minor unit): a base fee and 12,345 impressions, 10,000 included,
-- 3 started blocks of 1,000 at 500 yen; 10 % tax.
SELECT pg_temp.invoice('acme', NULL, :acme_sub, 'jp', 'JPY', 'Asia/Tokyo', 6500, 0.1, 650, $$[
  {"kind": "base", "description": "JP plan", "quantity": 31, "unit_price": 5000, "proration": 1, "amount": 5000},
  {"kind": "usage", "meter": "widget_impressions", "description": "Widget impressions", "quantity": 12345,
   "included": 10000, "overage": 2345, "blocks": 3, "unit_price": 500, "amount": 1500}]$$) AS jp \gset
-- USD: 2,345 requests over 20,000 included... priced per unit at 0.002
-- (a fraction of a cent), and a credit.
SELECT pg_temp.invoice('globex', NULL, :globex_sub, 'us', 'USD', 'UTC', 23.69, 0, 0, $$[
  {"kind": "base", "description": "US plan", "quantity": 31, "unit_price": 20, "proration": 1, "amount": 20},
  {"kind": "usage", "meter": "requests", "description": "Requests", "quantity": 22345, "included": 20000,
   "overage": 2345, "blocks": 2345, "unit_price": 0.002, "amount": 4.69},
  {"kind": "credit", "description": "Prepaid credit", "quantity": 1, "amount": -1.00}]$$) AS us \gset
-- KWD (three digits), a user's invoice.
SELECT pg_temp.invoice(NULL, 'ursula', :ursula_sub, 'kw', 'KWD', 'UTC', 10.235, 0, 0, $$[
  {"kind": "base", "description": "KW plan", "quantity": 31, "unit_price": 10, "proration": 1, "amount": 10},
  {"kind": "usage", "meter": "tokens", "description": "Tokens", "quantity": 1235000, "included": 1000000,
   "overage": 235000, "blocks": 0.235, "unit_price": 1, "amount": 0.235}]$$) AS kw \gset

SELECT is(analytics.invoice_json(:jp) - 'created' - 'lines',
  jsonb_build_object('object', 'invoice', 'number', NULL, 'status', 'draft',
    'customer', '{"id": "org:acme", "name": "Acme KK", "type": "organization", "email": "billing@acme.example", "org_id": "acme"}'::jsonb,
    'currency', 'jpy', 'currency_minor_unit', 0,
    'period_start', extract(epoch FROM timestamptz '2026-01-01 00:00+09')::bigint,
    'period_end', extract(epoch FROM timestamptz '2026-02-01 00:00+09')::bigint,
    'due_date', extract(epoch FROM timestamptz '2026-02-15 00:00+09')::bigint,
    'subtotal', 6500, 'tax', 650, 'tax_percent', '10', 'total', 7150, 'amount_due', 0, 'amount_paid', 0,
    'metadata', jsonb_build_object('usage_analytics_invoice_id', :'jp', 'status', 'draft',
      'subscription_id', :'acme_sub', 'plan_id', 'jp', 'org_id', 'acme', 'period_start_local', '2026-01-01',
      'period_end_local', '2026-02-01', 'due_date_local', '2026-02-15', 'time_zone', 'Asia/Tokyo',
      'credits_applied', '0')),
  'invoice_json: JPY amounts in yen (no minor unit), lower-case currency, epoch seconds of the local period, ids in metadata');
SELECT is(analytics.invoice_json(:jp)->'lines',
  jsonb_build_array(
    jsonb_build_object('description', 'JP plan', 'quantity', 1, 'unit_amount_decimal', '5000', 'unit_amount', 5000,
      'amount', 5000, 'period', jsonb_build_object('start', 1767193200, 'end', 1769871600),
      'metadata', '{"line_no": "1", "kind": "base", "usage_quantity": "31", "proration": "1"}'::jsonb),
    jsonb_build_object('description', 'Widget impressions', 'quantity', 3, 'unit_amount_decimal', '500',
      'unit_amount', 500, 'amount', 1500, 'period', jsonb_build_object('start', 1767193200, 'end', 1769871600),
      'metadata', '{"line_no": "2", "kind": "usage", "meter_id": "widget_impressions", "usage_quantity": "12345",
                    "included_quantity": "10000", "overage_quantity": "2345"}'::jsonb)),
  'lines: a base fee is one unit of its amount; usage lines bill blocks x the block price');
SELECT is((SELECT sum((l->>'amount')::bigint) FROM jsonb_array_elements(analytics.invoice_json(:jp)->'lines') l),
  (analytics.invoice_json(:jp)->>'subtotal')::numeric, 'the lines add up to the subtotal');
SELECT results_eq(format($$SELECT l->>'quantity', l->>'unit_amount_decimal', l->>'unit_amount', l->>'amount'
                             FROM jsonb_array_elements(analytics.invoice_json(%s)->'lines') l$$, :us),
  $$VALUES ('1', '2000', '2000', '2000'), ('2345', '0.2', NULL, '469'), ('1', '-100', '-100', '-100')$$,
  'USD: cents; a price of a fraction of a cent is unit_amount_decimal only; a credit is a negative line');
SELECT is(ARRAY[(analytics.invoice_json(:us)->>'subtotal')::bigint, (analytics.invoice_json(:us)->>'total')::bigint],
  ARRAY[2369, 2369]::bigint[], 'USD subtotal and total in cents');
SELECT is(analytics.invoice_json(:kw) #>> '{lines,1,amount}', '235', 'KWD: three digits, 0.235 is 235 fils');
SELECT is(analytics.invoice_json(:kw) -> 'customer', '{"id": "user:ursula", "type": "user", "user_id": "ursula"}'::jsonb,
  'a user''s invoice names the user');
SELECT throws_ok('SELECT analytics.invoice_json(NULL)', '23502', NULL, 'invoice_json(NULL): 23502');
SELECT throws_ok('SELECT analytics.invoice_json(-1)', '42704', NULL, 'an invoice that does not exist: 42704');

-- Who reads an invoice as JSON: the organization's owner, not a member,
-- nor another organization's owner (the same answer as for no invoice).
CREATE FUNCTION pg_temp.json_as(identity text, id bigint) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('usage_analytics.user_id', identity, true);
  RETURN pg_temp.as_role('ua_bx_user', format('SELECT analytics.invoice_json(%s)->>''currency''', id));
END
$$;
SELECT is(pg_temp.json_as('own', :jp), 'jpy', 'the owner reads the organization''s invoice');
SELECT is(pg_temp.json_as('mem', :jp), 'ERROR 42704', 'a member does not (unknown, 42704)');
SELECT is(pg_temp.json_as('gx', :jp), 'ERROR 42704', 'nor another organization''s owner');
SELECT is(pg_temp.json_as('ursula', :kw), 'kwd', 'a user reads their own invoice');

-- The outbox: nothing while the invoices are drafts; finalizing writes at
-- commit (a deferred trigger: SET CONSTRAINTS ... IMMEDIATE stands for the
-- commit here; test/specs/billing_outbox.spec commits for real).
SELECT is((SELECT count(*) FROM analytics.billing_outbox), 0::bigint, 'drafts are not in the outbox');
SELECT pg_temp.finalize(:jp, 1), pg_temp.finalize(:us, 2) \gset
SELECT is((SELECT count(*) FROM analytics.billing_outbox), 0::bigint, 'finalized: written at commit, not before');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT results_eq($$SELECT kind, COALESCE(org_id, user_id), meter_id, idempotency_key FROM analytics.billing_outbox ORDER BY outbox_id$$,
  format($$VALUES ('invoice', 'acme', NULL::text, 'usage_analytics:invoice:%1$s'),
                  ('usage_record', 'acme', 'widget_impressions', 'usage_analytics:usage_record:%1$s:widget_impressions'),
                  ('invoice', 'globex', NULL, 'usage_analytics:invoice:%2$s'),
                  ('usage_record', 'globex', 'requests', 'usage_analytics:usage_record:%2$s:requests')$$, :jp, :us),
  'each finalized invoice: one invoice row and one usage record per meter, with stable keys');
SELECT is((SELECT payload FROM analytics.billing_outbox WHERE kind = 'invoice' AND invoice_id = :jp),
  analytics.invoice_json(:jp), 'the invoice row''s payload is invoice_json at finalization');
SELECT is((SELECT payload->>'status' FROM analytics.billing_outbox WHERE kind = 'invoice' AND invoice_id = :jp), 'open',
  'status open (finalized), with its number')
  ;
SELECT is((SELECT payload - 'metadata' FROM analytics.billing_outbox WHERE kind = 'usage_record' AND invoice_id = :jp),
  jsonb_build_object('object', 'usage_record', 'action', 'set', 'customer', 'org:acme', 'meter', 'widget_impressions',
    'quantity', 12345, 'unit', 'impression', 'period', jsonb_build_object('start', 1767193200, 'end', 1769871600),
    'timestamp', 1769871599),
  'a usage record: the meter''s quantity for the period (action set: sending it again changes nothing)');
UPDATE analytics.invoices SET status = 'paid', paid_at = now() WHERE invoice_id = :jp;
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is((SELECT count(*) FROM analytics.billing_outbox), 4::bigint, 'paid afterwards: nothing more (once per invoice)');

-- Claim, lease, acknowledge.
SELECT is(pg_temp.as_role('ua_bx_app', $$SELECT string_agg(outbox_id::text || ':' || claims || ':' || claimed_by, ',' ORDER BY outbox_id)
                                          FROM analytics.claim_billing_outbox(2, '1 hour', 'biller-a')$$),
  (SELECT string_agg(outbox_id::text || ':1:biller-a', ',' ORDER BY outbox_id) FROM (SELECT outbox_id FROM analytics.billing_outbox ORDER BY outbox_id LIMIT 2) o),
  'an app backend claims the two oldest rows');
SELECT is((SELECT string_agg(outbox_id::text, ',' ORDER BY outbox_id) FROM analytics.claim_billing_outbox(10, '1 hour', 'biller-b')),
  (SELECT string_agg(outbox_id::text, ',' ORDER BY outbox_id) FROM (SELECT outbox_id FROM analytics.billing_outbox ORDER BY outbox_id OFFSET 2) o),
  'a second consumer gets only the rows not leased');
SELECT is((SELECT count(*) FROM analytics.claim_billing_outbox(10, '1 hour', 'biller-c')), 0::bigint,
  'while the leases hold, nothing is claimable');
-- biller-b crashed; its lease ends (time passing, without a sleep: a real
-- short lease and a sleep are in test/specs/billing_outbox.spec).
UPDATE analytics.billing_outbox SET leased_until = clock_timestamp() - interval '1 second' WHERE claimed_by = 'biller-b';
SELECT is((SELECT string_agg(claims || ':' || claimed_by, ',') FROM analytics.claim_billing_outbox(10, '1 hour', 'biller-c')),
  '2:biller-c,2:biller-c', 'a lease that ended (a consumer that crashed) hands its rows out again');
SELECT is(analytics.ack_billing_outbox((SELECT array_agg(outbox_id) FROM analytics.billing_outbox)), 4,
  'acknowledging marks them delivered');
SELECT is(analytics.ack_billing_outbox((SELECT array_agg(outbox_id) FROM analytics.billing_outbox) || 999999::bigint), 0,
  'acknowledging again, or an unknown id, changes nothing');
SELECT is((SELECT count(*) FROM analytics.billing_outbox WHERE delivered_at IS NULL OR leased_until IS NOT NULL), 0::bigint,
  'every row delivered, no lease left');
SELECT pg_sleep(0.05) \gset
SELECT is((SELECT count(*) FROM analytics.claim_billing_outbox(10, '10 ms')), 0::bigint, 'delivered rows are never claimed again');

-- A user's invoice finalized later: claimed next.
SELECT pg_temp.finalize(:kw, 3) \gset
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is((SELECT string_agg(kind || ':' || user_id, ',' ORDER BY outbox_id) FROM analytics.claim_billing_outbox()),
  'invoice:ursula,usage_record:ursula', 'a user''s invoice and usage record');

-- Errors and access.
SELECT throws_ok($$SELECT * FROM analytics.claim_billing_outbox(0)$$, '22023', NULL, 'batch_size 0: 22023');
SELECT throws_ok($$SELECT * FROM analytics.claim_billing_outbox(10001)$$, '22023', NULL, 'batch_size above 10000: 22023');
SELECT throws_ok($$SELECT * FROM analytics.claim_billing_outbox(1, '0 s')$$, '22023', NULL, 'a lease of 0: 22023');
SELECT throws_ok($$SELECT * FROM analytics.claim_billing_outbox(1, '2 days')$$, '22023', NULL, 'a lease above a day: 22023');
SELECT throws_ok($$SELECT * FROM analytics.claim_billing_outbox(NULL)$$, '23502', NULL, 'batch_size NULL: 23502');
SELECT throws_ok($$SELECT * FROM analytics.claim_billing_outbox(1, '1 s', repeat('x', 257))$$, '22001', NULL,
  'a consumer name above 256 bytes: 22001');
SELECT throws_ok($$SELECT analytics.ack_billing_outbox(NULL)$$, '23502', NULL, 'ack_billing_outbox(NULL): 23502');
SELECT is(pg_temp.as_role('ua_bx_user', 'SELECT count(*)::text FROM analytics.claim_billing_outbox()'), 'ERROR 42501',
  'an end user cannot claim');
SELECT is(pg_temp.as_role('ua_bx_user', 'SELECT count(*)::text FROM analytics.billing_outbox'), 'ERROR 42501',
  'nor read the outbox');
SELECT is(pg_temp.as_role('ua_bx_admin', 'SELECT analytics.ack_billing_outbox(''{}'')::text'), '0',
  'an admin may acknowledge');

SELECT * FROM finish();
ROLLBACK;
