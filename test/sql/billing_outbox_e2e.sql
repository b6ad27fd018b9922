\set ECHO none
-- The outbox, invoice_json and credit_balance end to end, through
-- billing.sql's own functions: generate_invoices (which folds: this file
-- commits as it goes), finalize_invoice, mark_invoice_paid, void_invoice.
\set autocommit on
\i test/setup.psql
SET DateStyle = 'ISO, YMD';
SELECT plan(12);

SELECT analytics.create_organization('e2e', 'E2E AS', currency => 'NOK', tax_rate => 0.25, owner_id => 'own') \gset
INSERT INTO analytics.plans (plan_id, name, price_per_month, currency, included_units, overage_unit_price)
VALUES ('e2e', 'E2E', 100, 'NOK', 5, 2.5);
-- Two closed monthly periods; 8 requests in the first (3 over the 5 included).
SELECT date_trunc('month', now() AT TIME ZONE 'UTC') - interval '2 months' AS start \gset
SELECT analytics.subscribe(NULL, 'e2e', :'start'::timestamp AT TIME ZONE 'UTC', org_id => 'e2e') AS sub \gset
SELECT count(analytics.record_chat_event('m', 'gpt-4o', input_tokens => 10, org_id => 'e2e',
                                         occurred_at => (:'start'::timestamp + interval '1 day') AT TIME ZONE 'UTC'))
  FROM generate_series(1, 8) \gset
SELECT analytics.grant_credits('e2e', 3, priority => 1, effective_at => :'start'::timestamp AT TIME ZONE 'UTC') AS grant_id \gset

SELECT is(analytics.generate_invoices(), 2, 'generate_invoices: two drafts');
SELECT min(invoice_id) AS first, max(invoice_id) AS second FROM analytics.invoices \gset
SELECT is((SELECT count(*) FROM analytics.billing_outbox), 0::bigint, 'drafts are not exported');
SELECT results_eq($$SELECT currency, available, consumed FROM analytics.credit_balance('e2e')$$,
  $$SELECT 'NOK', 3 - sum(credits_applied), sum(credits_applied) FROM analytics.invoices$$,
  'credit_balance equals the grant less what the invoices consumed');
SELECT is((SELECT available FROM analytics.credit_balance('e2e')), 0::numeric, 'the 3 NOK credit went to the first invoice''s overage');

SELECT analytics.finalize_invoice(:first) AS number \gset
SELECT results_eq($$SELECT kind, meter_id, idempotency_key FROM analytics.billing_outbox ORDER BY outbox_id$$,
  format($$VALUES ('invoice', NULL::text, 'usage_analytics:invoice:%1$s'),
                  ('usage_record', 'requests', 'usage_analytics:usage_record:%1$s:requests')$$, :first),
  'finalize_invoice, committed: the invoice and its usage record in the outbox');
SELECT is((SELECT payload FROM analytics.billing_outbox WHERE kind = 'invoice'), analytics.invoice_json(:first),
  'its payload is invoice_json');
SELECT is((SELECT payload->>'number' FROM analytics.billing_outbox WHERE kind = 'invoice'), :'number', 'with its number');
SELECT is((SELECT (payload->>'quantity')::numeric FROM analytics.billing_outbox WHERE kind = 'usage_record'), 8::numeric,
  'the usage record holds the 8 requests of the period');
SELECT results_eq(format($$SELECT (j->>'subtotal')::bigint, (j->>'tax')::bigint, (j->>'total')::bigint,
                                  (SELECT sum((l->>'amount')::bigint) FROM jsonb_array_elements(j->'lines') l)::bigint
                             FROM analytics.invoice_json(%s) j$$, :first),
  format($$SELECT (subtotal * 100)::bigint, (tax * 100)::bigint, (total * 100)::bigint, (subtotal * 100)::bigint
             FROM analytics.invoices WHERE invoice_id = %s$$, :first),
  'øre: the JSON''s totals are the invoice''s, its lines add up to the subtotal');
SELECT is((SELECT string_agg(l->'metadata'->>'kind' || ':' || (l->>'quantity') || 'x' || (l->>'unit_amount_decimal') || '=' || (l->>'amount'), ' ')
             FROM jsonb_array_elements(analytics.invoice_json(:first)->'lines') l),
  'base:1x10000=10000 usage:3x250=750 credit:1x-300=-300',
  'lines: the base fee, 3 requests over the included at 2.50 NOK, the credit');

SELECT analytics.mark_invoice_paid(:first) \gset
SELECT analytics.finalize_invoice(:second) \gset
SELECT analytics.void_invoice(:second, 'test') \gset
SELECT is((SELECT string_agg(kind || ':' || invoice_id, ',' ORDER BY outbox_id) FROM analytics.billing_outbox),
  format('invoice:%1$s,usage_record:%1$s,invoice:%2$s,usage_record:%2$s', :first, :second),
  'paid and void change nothing in the outbox; the second invoice is there once');
SELECT is((SELECT count(*) FROM analytics.claim_billing_outbox()), 4::bigint, 'a consumer claims the four');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
