\set ECHO none
-- Usage-based billing (issue 15): money and rounding per currency (JPY,
-- USD, KWD), block rounding, graduated tiers, billing periods (anniversary,
-- month ends, time zones, trials), proration at a plan change, generation
-- from the counters and rollups (idempotent), gapless numbers under
-- rollback, finalized invoices immutable (55000), late and corrected
-- events as adjustment lines of the next invoice (verify_invoices), prepaid
-- credits (priority, expiry, currency, minor units, given back on void),
-- a user billed without its organizations' requests, row-level security
-- as end users, every refused argument with its SQLSTATE, and the README's
-- worked example.  generate_invoices folds, and the fold folds committed
-- transactions only: this file commits as it goes.
\set autocommit on
\i test/setup.psql
SET DateStyle = 'ISO, YMD';
SELECT plan(92);

SELECT analytics.ensure_partitions(0) \gset
CREATE ROLE ua_bill_user;
CREATE ROLE ua_bill_app;
CREATE ROLE ua_bill_nobody;
SELECT analytics.grant_end_user('ua_bill_user') \gset
SELECT analytics.grant_app_backend('ua_bill_app') \gset

/* ---- Money: rounding per currency, blocks, tiers -------------------------- */

CREATE FUNCTION pg_temp.price(q numeric, pricing text, minor integer) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(p.kind || ':' || COALESCE(p.tier_from::text, '') || ':' || p.overage || ':' || p.blocks
                    || ':' || p.amount, ' ' ORDER BY p.tier_from NULLS FIRST)
    FROM analytics.price_usage(q, pricing::jsonb, minor) p
$$;

SELECT is((SELECT string_agg(currency || '=' || minor_unit, ' ' ORDER BY currency) FROM analytics.currencies
            WHERE currency IN ('JPY', 'USD', 'EUR', 'GBP', 'KWD', 'BHD')),
  'BHD=3 EUR=2 GBP=2 JPY=0 KWD=3 USD=2', 'currencies know their minor unit');
SELECT is(pg_temp.price(7, '{"included_units": 0, "block_size": 1, "block_price": 0.35, "block_rounding": "up", "tiers": []}', 0),
  'usage::7:7:2', 'JPY: 7 x 0.35 = 2.45 rounds to 2 yen');
SELECT is(pg_temp.price(10, '{"included_units": 0, "block_size": 1, "block_price": 0.35, "block_rounding": "up", "tiers": []}', 0),
  'usage::10:10:4', 'JPY: 3.5 rounds half-up to 4 yen');
SELECT is(pg_temp.price(5, '{"included_units": 0, "block_size": 1, "block_price": 0.001, "block_rounding": "up", "tiers": []}', 2),
  'usage::5:5:0.01', 'USD: 0.005 rounds half-up to 0.01');
SELECT is(pg_temp.price(4, '{"included_units": 0, "block_size": 1, "block_price": 0.001, "block_rounding": "up", "tiers": []}', 2),
  'usage::4:4:0.00', 'USD: 0.004 rounds to 0.00');
SELECT is(pg_temp.price(5, '{"included_units": 0, "block_size": 1, "block_price": 0.0001, "block_rounding": "up", "tiers": []}', 3),
  'usage::5:5:0.001', 'KWD: 0.0005 rounds half-up to 0.001 (three digits)');
SELECT is(pg_temp.price(2500, '{"included_units": 1000, "block_size": 1000, "block_price": 2, "block_rounding": "up", "tiers": []}', 2)
          || ' | ' || pg_temp.price(2500, '{"included_units": 1000, "block_size": 1000, "block_price": 2, "block_rounding": "down", "tiers": []}', 2)
          || ' | ' || pg_temp.price(2500, '{"included_units": 1000, "block_size": 1000, "block_price": 2, "block_rounding": "exact", "tiers": []}', 2),
  'usage::1500:2:4.00 | usage::1500:1:2.00 | usage::1500:1.5000000000000000:3.00',
  'included units, then blocks rounded up, down or exact');
SELECT is(pg_temp.price(800, '{"included_units": 1000, "block_size": 1000, "block_price": 2, "block_rounding": "up", "tiers": []}', 2),
  'usage::0:0:0.00', 'within the included units: nothing');
SELECT is(pg_temp.price(61500, '{"included_units": 1000, "block_size": 1000, "block_price": 99, "block_rounding": "up",
                                 "tiers": [{"from_units": 0, "block_price": 2, "flat_fee": 0},
                                           {"from_units": 10000, "block_price": 1, "flat_fee": 0},
                                           {"from_units": 50000, "block_price": 0.5, "flat_fee": 5}]}', 2),
  'tier:0:10000:10:20.00 tier:10000:40000:40:40.00 tier:50000:10500:11:10.50',
  'graduated tiers over the overage: each tier''s units in blocks at its price, flat fee once reached');
SELECT is(pg_temp.price(9000, '{"included_units": 1000, "block_size": 1000, "block_price": 99, "block_rounding": "up",
                                "tiers": [{"from_units": 0, "block_price": 2, "flat_fee": 0},
                                          {"from_units": 10000, "block_price": 1, "flat_fee": 3}]}', 2),
  'tier:0:8000:8:16.00', 'only the tiers reached are priced');

/* ---- Plans, meters, the shorthand of 1.0 ---------------------------------- */

INSERT INTO analytics.plans (plan_id, name, price_per_month, currency) VALUES
  ('basic', 'Basic', 30, 'USD'), ('plus', 'Plus', 60, 'USD'), ('metered', 'Metered', 10, 'USD'),
  ('yen', 'Yen', 980, 'JPY'), ('dinar', 'Dinar', 10, 'KWD');
INSERT INTO analytics.plans (plan_id, name, price_per_month, price_per_year, billing_cycle, currency) VALUES
  ('annual', 'Annual', 10, 100, 'yearly', 'EUR');
INSERT INTO analytics.plans (plan_id, name, price_per_month, trial_days) VALUES ('trial14', 'Trial', 10, 14);
INSERT INTO analytics.plan_charges (plan_id, meter_id, included_units, block_size, block_price) VALUES
  ('basic', 'requests', 0, 1, 0.10), ('plus', 'requests', 0, 1, 0.10),
  ('metered', 'tokens', 1000, 1000, 1), ('metered', 'api_requests', 0, 1, 0.01),
  ('yen', 'requests', 0, 1, 0.35), ('dinar', 'requests', 0, 1, 0.0001);
INSERT INTO analytics.meters (meter_id, name, quantity, aggregation, markup, unit) VALUES
  ('cost_plus', 'Cost plus 20 %', 'cost', 'sum', 0.2, 'USD');

SELECT is((SELECT string_agg(meter_id || ' ' || pricing::text, '; ') FROM analytics.plan_pricing('pro')),
  'requests {"tiers": [], "block_size": 1, "block_price": 0.002, "block_rounding": "up", "included_units": 20000}',
  'plans.included_units and overage_unit_price: a charge on the meter requests');
SELECT throws_ok($$INSERT INTO analytics.meters (meter_id, name, quantity, aggregation) VALUES ('x', 'X', 'tokens', 'count')$$,
  '23514', NULL, 'a meter''s aggregation follows its quantity');
SELECT throws_ok($$INSERT INTO analytics.meters (meter_id, name, quantity, aggregation, markup) VALUES ('x', 'X', 'tokens', 'sum', 1)$$,
  '23514', NULL, 'a markup only on cost');
SELECT throws_ok($$INSERT INTO analytics.plans (plan_id, name, currency) VALUES ('x', 'X', 'XXX')$$,
  '23503', NULL, 'a plan''s currency is a known one');

/* ---- Billing periods ------------------------------------------------------ */

SELECT analytics.subscribe('anchor', 'basic', '2026-01-31 00:00+00') AS anchor_sub \gset
SELECT is((SELECT string_agg(period_start || '..' || period_end, ' ' ORDER BY period_start)
             FROM analytics.subscription_periods(:anchor_sub, NULL, '2026-05-01')),
  '2026-01-31..2026-02-28 2026-02-28..2026-03-31 2026-03-31..2026-04-30 2026-04-30..2026-05-31',
  'anniversary periods from a January 31 anchor: February 28, March 31, April 30');
SELECT analytics.subscribe('leap', 'annual', '2024-02-29 00:00+00') AS leap_sub \gset
SELECT is((SELECT string_agg(period_start || '..' || period_end, ' ' ORDER BY period_start)
             FROM analytics.subscription_periods(:leap_sub, NULL, '2028-03-01')),
  '2024-02-29..2025-02-28 2025-02-28..2026-02-28 2026-02-28..2027-02-28 2027-02-28..2028-02-29 2028-02-29..2029-02-28',
  'yearly periods from a February 29 anchor come back to February 29 in leap years');
SELECT analytics.create_organization('tokyo', 'Tokyo KK', time_zone => 'Asia/Tokyo', tax_rate => 0.1, owner_id => 'aiko') \gset
SELECT analytics.subscribe(NULL, 'yen', '2026-03-01 00:00+09', org_id => 'tokyo') AS tokyo_sub \gset
SELECT is((SELECT period_start || ' ' || period_start_at || ' ' || period_end_at || ' ' || closes_at
             FROM analytics.subscription_periods(:tokyo_sub, NULL, '2026-03-02') LIMIT 1),
  '2026-03-01 2026-02-28 15:00:00+00 2026-03-31 15:00:00+00 2026-04-01 00:00:00+00',
  'an organization''s periods are its local days; the period closes when its UTC days are over too');
SELECT is((SELECT period_start || '..' || period_end || ' ' || trial FROM analytics.billing_period('tokyo', NULL, '2026-04-10 12:00+00')),
  '2026-04-01..2026-05-01 false', 'billing_period: the period at a time');
SELECT is((SELECT count(*) FROM analytics.billing_period('nobody', NULL)), 0::bigint,
  'billing_period: no row without a subscription');

-- Trials: a subject's first subscription to a plan with trial days.
SELECT analytics.subscribe('tria', 'trial14', '2026-05-01 00:00+00') AS tria_sub \gset
SELECT is((SELECT status || ' ' || trial_ends_at FROM analytics.subscriptions WHERE subscription_id = :tria_sub),
  'trialing 2026-05-15 00:00:00+00', 'a first subscription to a plan with 14 trial days is trialing 14 days');
SELECT is((SELECT period_start || '..' || period_end || ' ' || trial FROM analytics.billing_period(NULL, 'tria', '2026-05-03')),
  '2026-05-01..2026-05-15 true', 'billing_period in the trial: the trial''s days');
SELECT is((SELECT string_agg(period_start || '..' || period_end, ' ') FROM analytics.subscription_periods(:tria_sub, NULL, '2026-06-20')),
  '2026-05-15..2026-06-15 2026-06-15..2026-07-15', 'after a trial, periods are anchored on its end');

/* ---- The README's worked example ------------------------------------------ */

SELECT analytics.create_organization('nordlys', 'Nordlys Weather AS', time_zone => 'Europe/Oslo',
                                     currency => 'NOK', tax_rate => 0.25, owner_id => 'kari') \gset
SELECT analytics.add_member('nordlys', 'ola') \gset
INSERT INTO analytics.plans (plan_id, name, price_per_month, currency) VALUES ('premium', 'Premium', 3500, 'NOK');
INSERT INTO analytics.plan_charges (plan_id, meter_id, included_units, block_size, block_price)
  VALUES ('premium', 'widget_impressions', 100000, 1000, 50);
SELECT analytics.subscribe(NULL, 'premium', '2026-09-15 00:00+02', org_id => 'nordlys') AS nordlys_sub \gset
SELECT analytics.create_widget('nordlys', 'forecast', 'forecast', 'Forecast') \gset
-- 123 calls of 1,000 impressions and 7 of one, in the period from October 15.
SELECT count(analytics.record_api_request('nordlys', '/v1/widget', 'GET', 200, 12, widget_id => 'forecast',
        billable_units => CASE WHEN i <= 123 THEN 1000 ELSE 1 END,
        occurred_at => '2026-10-20 12:00+00'::timestamptz + i * interval '1 minute'))
  FROM generate_series(1, 130) i \gset

/* ---- Other subjects: a plan change, trials, late events, credits, a user -- */

-- A plan change on March 11: the old subscription's period closes there.
SELECT analytics.subscribe('switcher', 'basic', '2026-03-01 00:00+00') AS sw_old \gset
SELECT count(analytics.record_chat_event('switcher', 'gpt-4o', input_tokens => 10, occurred_at => t))
  FROM unnest(ARRAY['2026-03-05 10:00+00', '2026-03-05 11:00+00', '2026-03-20 10:00+00',
                    '2026-03-21 10:00+00', '2026-03-22 10:00+00']::timestamptz[]) t \gset
SELECT analytics.subscribe('switcher', 'plus', '2026-03-11 00:00+00') AS sw_new \gset
-- The same change keeping the old anchor (billing_anchor).
SELECT analytics.subscribe('keeper', 'basic', '2026-03-01 00:00+00') AS kp_old \gset
SELECT analytics.subscribe('keeper', 'plus', '2026-03-11 00:00+00') AS kp_new \gset
UPDATE analytics.subscriptions SET billing_anchor = '2026-03-01 00:00+00' WHERE subscription_id = :kp_new;

-- Yen and dinar: rounding to 0 and 3 digits on invoices.
SELECT count(analytics.record_chat_event('aiko', 'gpt-4o', input_tokens => 10, org_id => 'tokyo',
                                         occurred_at => '2026-03-10 03:00+00'::timestamptz + i * interval '1 hour'))
  FROM generate_series(1, 7) i \gset
SELECT analytics.create_organization('kuwait', 'Kuwait Co', time_zone => 'Asia/Kuwait', currency => 'KWD',
                                     tax_rate => 0.05, owner_id => 'fahad') \gset
SELECT analytics.subscribe(NULL, 'dinar', '2026-04-01 00:00+03', org_id => 'kuwait') \gset
SELECT count(analytics.record_chat_event('fahad', 'gpt-4o', input_tokens => 10, org_id => 'kuwait',
                                         occurred_at => '2026-04-10 03:00+00'::timestamptz + i * interval '1 hour'))
  FROM generate_series(1, 5) i \gset

-- Late and corrected events: an organization billed on tokens and API requests.
SELECT analytics.create_organization('late', 'Late Ltd', owner_id => 'lena') \gset
SELECT analytics.subscribe(NULL, 'metered', '2026-06-01 00:00+00', org_id => 'late') AS late_sub \gset
SELECT count(analytics.record_chat_event('lena', 'gpt-4o', input_tokens => 1000, org_id => 'late',
                                         occurred_at => '2026-06-10 10:00+00'::timestamptz + i * interval '1 hour'))
  FROM generate_series(1, 3) i \gset
SELECT count(analytics.record_api_request('late', '/v1/x', 'GET', 200, 5, occurred_at => '2026-06-11 10:00+00'::timestamptz + i * interval '1 hour'))
  FROM generate_series(1, 2) i \gset

-- Credits: an organization with grants of every kind.
SELECT analytics.create_organization('credco', 'Cred Co', tax_rate => 0.2, owner_id => 'carl') \gset
SELECT analytics.subscribe(NULL, 'metered', '2026-06-01 00:00+00', org_id => 'credco') \gset
SELECT analytics.record_chat_event('carl', 'gpt-4o', input_tokens => 12000, org_id => 'credco',
                                   occurred_at => '2026-06-10 10:00+00') \gset
INSERT INTO analytics.credit_grants (org_id, amount, currency, priority, effective_at, expires_at, applies_to, name) VALUES
  ('credco', 5, 'USD', 10, '2026-01-01', '2026-12-31', 'usage', 'a'),
  ('credco', 3.005, 'USD', 10, '2026-01-01', '2026-09-01', 'usage', 'b'),
  ('credco', 100, 'USD', 50, '2026-01-01', NULL, 'usage', 'c'),
  ('credco', 100, 'USD', 0, '2026-01-01', '2026-06-15', 'usage', 'expired'),
  ('credco', 100, 'EUR', 0, '2026-01-01', NULL, 'all', 'euro'),
  ('credco', 50, 'USD', 90, '2026-01-01', NULL, 'all', 'f'),
  ('credco', 100, 'USD', 0, '2026-07-01', NULL, 'all', 'later');

-- A user: its own requests, not those made in an organization.
SELECT analytics.subscribe('solo', 'basic', '2026-06-01 00:00+00') \gset
SELECT count(analytics.record_chat_event('solo', 'gpt-4o', input_tokens => 10, occurred_at => '2026-06-05 10:00+00'::timestamptz + i * interval '1 hour',
                                         org_id => CASE WHEN i > 2 THEN 'nordlys' END))
  FROM generate_series(1, 5) i \gset

/* ---- Generation ----------------------------------------------------------- */

SELECT throws_ok($$SELECT analytics.generate_invoices(NULL)$$, '22008', 'as_of must be a finite timestamp',
  'generate_invoices: NULL as_of');
SELECT throws_ok($$SELECT analytics.generate_invoices(now() + interval '1 day')$$, '22008', 'as_of must not be in the future',
  'generate_invoices: as_of in the future');
SELECT is(pg_temp.as_role('ua_bill_user', $$SELECT analytics.generate_invoices('2026-07-02')::text$$), 'ERROR 42501',
  'an end user cannot generate invoices');
SELECT is(pg_temp.as_role('ua_bill_app', $$SELECT analytics.generate_invoices('2026-07-02 12:00+00')::text$$), '27',
  'the app backend generates every closed period''s invoice (as of July 2: 27 periods of 10 subscribers)');
SELECT is(analytics.generate_invoices('2026-07-02 12:00+00'), 0, 'again: nothing (idempotent)');
SELECT is((SELECT count(*) FROM analytics.invoices), 27::bigint, 'still 27 invoices');
SELECT is((SELECT count(*) FROM analytics.invoices WHERE status = 'draft' AND invoice_number IS NULL), 27::bigint,
  'all drafts, without numbers');

-- The plan change.
SELECT is((SELECT string_agg(i.period_start || '..' || i.period_end || ' ' || l.kind || ' ' || l.quantity || ' ' || l.amount, '; '
                             ORDER BY i.period_start, l.line_no)
             FROM analytics.invoices i JOIN analytics.invoice_lines l USING (invoice_id)
            WHERE i.user_id = 'switcher' AND i.period_start < '2026-04-11'),
  '2026-03-01..2026-03-11 base 10 9.68; 2026-03-01..2026-03-11 usage 2 0.20; 2026-03-11..2026-04-11 base 31 60.00; 2026-03-11..2026-04-11 usage 3 0.30',
  'a plan change closes the old period at the change: base fee by days (30 x 10/31), usage by the days of each part; the new plan from its own anchor');
SELECT is((SELECT string_agg(i.period_start || '..' || i.period_end || ' ' || l.kind || ' ' || l.quantity || ' ' || l.proration || ' ' || l.amount, '; '
                             ORDER BY i.period_start, l.line_no)
             FROM analytics.invoices i JOIN analytics.invoice_lines l USING (invoice_id)
            WHERE i.user_id = 'keeper' AND i.period_start < '2026-04-01' AND l.kind = 'base'),
  '2026-03-01..2026-03-11 base 10 0.322581 9.68; 2026-03-11..2026-04-01 base 21 0.677419 40.65',
  'keeping the anchor: both parts prorated by days (60 x 21/31 = 40.645... -> 40.65)');
SELECT is((SELECT count(*) FROM analytics.invoices WHERE user_id = 'anchor'), 5::bigint,
  'the January 31 subscription: five closed periods by July 2');

-- Yen and dinar invoices.
SELECT is((SELECT string_agg(l.kind || ' ' || l.amount, ', ' ORDER BY l.line_no) || ' | ' || i.subtotal || ' ' || i.tax || ' ' || i.total || ' ' || i.currency
             FROM analytics.invoices i JOIN analytics.invoice_lines l USING (invoice_id)
            WHERE i.org_id = 'tokyo' AND i.period_start = '2026-03-01' GROUP BY i.invoice_id),
  'base 980, usage 2 | 982 98 1080 JPY', 'JPY: whole yen per line (7 x 0.35 = 2.45 -> 2), tax 10 % of 982 = 98.2 -> 98');
SELECT is((SELECT string_agg(l.kind || ' ' || l.amount, ', ' ORDER BY l.line_no) || ' | ' || i.subtotal || ' ' || i.tax || ' ' || i.total || ' ' || i.currency
             FROM analytics.invoices i JOIN analytics.invoice_lines l USING (invoice_id)
            WHERE i.org_id = 'kuwait' AND i.period_start = '2026-04-01' GROUP BY i.invoice_id),
  'base 10.000, usage 0.001 | 10.001 0.500 10.501 KWD', 'KWD: three digits (5 x 0.0001 = 0.0005 -> 0.001), tax 5 % -> 0.50005 -> 0.500');

-- Trial: no invoice for the trial, status active after it.
SELECT is((SELECT string_agg(period_start || '..' || period_end, ' ') FROM analytics.invoices WHERE user_id = 'tria'),
  '2026-05-15..2026-06-15', 'the trial is not invoiced; the first period starts at its end');
SELECT is((SELECT status FROM analytics.subscriptions WHERE subscription_id = :tria_sub), 'active',
  'generate_invoices: trialing -> active once the trial has ended');

-- The user: its own requests only.
SELECT is((SELECT l.quantity FROM analytics.invoices i JOIN analytics.invoice_lines l USING (invoice_id)
            WHERE i.user_id = 'solo' AND l.kind = 'usage'), 2::numeric,
  'a user is billed for its own requests, not for those made in an organization');

-- Credits.
SELECT is((SELECT string_agg(l.kind || ' ' || COALESCE(g.name, '') || ' ' || l.amount, ', ' ORDER BY l.line_no)
             FROM analytics.invoices i JOIN analytics.invoice_lines l USING (invoice_id)
             LEFT JOIN analytics.credit_grants g ON g.grant_id = l.credit_grant_id
            WHERE i.org_id = 'credco'),
  'base  10.00, usage  0.00, usage  11.00, credit b -3.00, credit a -5.00, credit c -3.00, credit f -10.00',
  'credits before charging: usage grants by priority then expiry (b before a, 3.005 usable as 3.00), then c; the "all" grant f the base fee; expired, other currency and later grants untouched');
SELECT is((SELECT i.subtotal || ' ' || i.tax || ' ' || i.total || ' ' || i.credits_applied FROM analytics.invoices i WHERE i.org_id = 'credco'),
  '0.00 0.00 0.00 21.00', 'credits applied before tax');
SELECT is((SELECT string_agg(g.name || ' ' || (g.amount - COALESCE((SELECT sum(c.amount) FROM analytics.credit_consumptions c WHERE c.grant_id = g.grant_id), 0)), ', ' ORDER BY g.grant_id)
             FROM analytics.credit_grants g WHERE g.org_id = 'credco'),
  'a 0.00, b 0.005, c 97.00, expired 100, euro 100, f 40.00, later 100', 'balances: amount less consumption, exact');

/* ---- Finalization: gapless numbers, immutability, payment, void ----------- */

SELECT COALESCE((SELECT last_number FROM analytics.invoice_number_counters
                  WHERE year = EXTRACT(year FROM now())::int), 0) AS n0,
       EXTRACT(year FROM now())::int AS yr \gset
SELECT invoice_id AS inv_a FROM analytics.invoices WHERE org_id = 'late' \gset
SELECT invoice_id AS inv_b FROM analytics.invoices WHERE user_id = 'anchor' AND period_start = '2026-01-31' \gset
SELECT invoice_id AS inv_c FROM analytics.invoices WHERE user_id = 'anchor' AND period_start = '2026-02-28' \gset
SELECT invoice_id AS inv_d FROM analytics.invoices WHERE org_id = 'credco' \gset
SELECT is(analytics.finalize_invoice(:inv_a), format('INV-%s-%s', :yr, lpad((:n0 + 1)::text, 6, '0')),
  'finalize_invoice assigns the next number of the year');
BEGIN;
SELECT analytics.finalize_invoice(:inv_b) AS rolled_back \gset
ROLLBACK;
SELECT is(analytics.finalize_invoice(:inv_b), format('INV-%s-%s', :yr, lpad((:n0 + 2)::text, 6, '0')),
  'a finalization rolled back leaves no gap: the number is given again');
SELECT is(analytics.finalize_invoice(:inv_c), format('INV-%s-%s', :yr, lpad((:n0 + 3)::text, 6, '0')),
  'and the next one follows');
SELECT is((SELECT status || ' ' || (finalized_at IS NOT NULL) FROM analytics.invoices WHERE invoice_id = :inv_a), 'finalized true',
  'finalized, with its time');
SELECT throws_ok(format('SELECT analytics.finalize_invoice(%s)', :inv_a), '55000',
  format('invoice %s is finalized already: only a draft can be finalized', :inv_a), 'finalizing twice');
SELECT throws_ok($$SELECT analytics.finalize_invoice(-1)$$, '42704', 'invoice -1 does not exist', 'finalize: unknown invoice');
SELECT throws_ok(format('UPDATE analytics.invoices SET total = 0 WHERE invoice_id = %s', :inv_a), '55000',
  format('invoice %s is finalized: it cannot be changed', :inv_a), 'a finalized invoice cannot be changed');
SELECT throws_ok(format('UPDATE analytics.invoices SET status = %L, paid_at = now(), total = 1 WHERE invoice_id = %s', 'paid', :inv_a), '55000',
  format('invoice %s is finalized: it cannot be changed', :inv_a), 'nor changed while marked paid');
SELECT throws_ok(format('DELETE FROM analytics.invoices WHERE invoice_id = %s', :inv_a), '55000',
  format('invoice %s is finalized: it cannot be changed', :inv_a), 'nor deleted');
SELECT throws_ok(format('UPDATE analytics.invoice_lines SET amount = 0 WHERE invoice_id = %s', :inv_a), '55000',
  format('invoice %s is finalized: its lines cannot be changed', :inv_a), 'its lines cannot be changed');
SELECT throws_ok(format('DELETE FROM analytics.invoice_lines WHERE invoice_id = %s', :inv_a), '55000',
  format('invoice %s is finalized: its lines cannot be changed', :inv_a), 'nor deleted');
SELECT throws_ok(format($$INSERT INTO analytics.invoice_lines (invoice_id, line_no, kind, description, amount)
                          VALUES (%s, 99, 'adjustment', 'x', 1)$$, :inv_a), '55000',
  format('invoice %s is finalized: its lines cannot be changed', :inv_a), 'nor added to');
SELECT is(pg_temp.as_role('ua_bill_user', format('SELECT analytics.finalize_invoice(%s)', :inv_d)), 'ERROR 42501',
  'an end user cannot finalize');
SELECT is(analytics.mark_invoice_paid(:inv_b, '2026-10-20', 'pi_123'), true, 'mark_invoice_paid');
SELECT is(analytics.mark_invoice_paid(:inv_b), false, 'paid already: false');
SELECT is((SELECT status || ' ' || payment_reference || ' ' || invoice_number FROM analytics.invoices WHERE invoice_id = :inv_b),
  format('paid pi_123 INV-%s-%s', :yr, lpad((:n0 + 2)::text, 6, '0')), 'paid, number kept');
SELECT throws_ok(format('SELECT analytics.void_invoice(%s)', :inv_b), '55000',
  format('invoice %s is paid: a paid invoice cannot be voided', :inv_b), 'a paid invoice cannot be voided');
SELECT throws_ok(format('SELECT analytics.mark_invoice_paid(%s)', :inv_d), '55000',
  format('invoice %s is draft: only a finalized invoice can be paid', :inv_d), 'a draft cannot be paid');
-- Voiding gives the credits back.
SELECT is(analytics.void_invoice(:inv_d, 'test'), true, 'void_invoice of a draft');
SELECT is((SELECT string_agg(g.name || ' ' || (g.amount - COALESCE((SELECT sum(c.amount) FROM analytics.credit_consumptions c WHERE c.grant_id = g.grant_id), 0)), ', ' ORDER BY g.grant_id)
             FROM analytics.credit_grants g WHERE g.org_id = 'credco'),
  'a 5.00, b 3.005, c 100.00, expired 100, euro 100, f 50.00, later 100', 'its credits are given back');
SELECT is(analytics.void_invoice(:inv_d), false, 'void again: false');
SELECT throws_ok(format('UPDATE analytics.invoices SET status = %L WHERE invoice_id = %s', 'draft', :inv_d), '55000',
  format('invoice %s is void: it cannot be changed', :inv_d), 'a void invoice cannot be changed');

/* ---- Late and corrected events: adjustments on the next invoice ----------- */

SELECT total AS late_total_before, (SELECT string_agg(amount::text, ',' ORDER BY line_no) FROM analytics.invoice_lines WHERE invoice_id = :inv_a) AS late_lines_before
  FROM analytics.invoices WHERE invoice_id = :inv_a \gset
SELECT is((SELECT string_agg(l.kind || ' ' || COALESCE(l.meter_id, '') || ' ' || l.quantity || ' ' || l.amount, ', ' ORDER BY l.line_no)
             FROM analytics.invoice_lines l WHERE l.invoice_id = :inv_a),
  'base  30 10.00, usage api_requests 2 0.02, usage tokens 3000 2.00', 'June of "late": 3,000 tokens (2 blocks over 1,000), 2 API requests');
-- After finalization: an event and an API request of June arrive late, one
-- June event is corrected, one voided.
SELECT analytics.record_chat_event('lena', 'gpt-4o', input_tokens => 2500, org_id => 'late', occurred_at => '2026-06-20 10:00+00') \gset
SELECT analytics.record_api_request('late', '/v1/x', 'GET', 200, 5, occurred_at => '2026-06-21 10:00+00') \gset
SELECT (analytics.correct_event(min(id), 'too many', input_tokens => 400)).correction_id IS NOT NULL AS corrected
  FROM analytics.chat_events WHERE org_id = 'late' AND input_tokens = 1000 \gset
SELECT (analytics.void_event(max(id), 'refund')).correction_id IS NOT NULL AS voided
  FROM analytics.chat_events WHERE org_id = 'late' AND input_tokens = 1000 \gset
SELECT is((SELECT count(*) FROM analytics.verify_invoices() WHERE org_id = 'late' AND period_start = '2026-06-01' AND NOT matches), 2::bigint,
  'verify_invoices: the June invoice no longer matches the log for tokens and API requests');
SELECT ok(analytics.generate_invoices('2026-08-02 12:00+00') > 0, 'the next generation');
SELECT is((SELECT string_agg(l.kind || ' ' || COALESCE(l.meter_id, '') || ' ' || l.quantity || ' ' || l.amount || ' ' || COALESCE(l.period_start::text, ''), ', ' ORDER BY l.line_no)
             FROM analytics.invoices i JOIN analytics.invoice_lines l USING (invoice_id)
            WHERE i.org_id = 'late' AND i.period_start = '2026-07-01'),
  'base  31 10.00 2026-07-01, usage api_requests 0 0.00 2026-07-01, usage tokens 0 0.00 2026-07-01, adjustment api_requests 1 0.01 2026-06-01, adjustment tokens 900 1.00 2026-06-01',
  'July''s invoice corrects June: +1 API request, +900 tokens (3,900: 3 blocks, was 2), priced as June was');
SELECT is((SELECT total || ' ' || (SELECT string_agg(amount::text, ',' ORDER BY line_no) FROM analytics.invoice_lines WHERE invoice_id = :inv_a)
             FROM analytics.invoices WHERE invoice_id = :inv_a),
  :'late_total_before' || ' ' || :'late_lines_before', 'the finalized June invoice is unchanged');
SELECT is_empty($$SELECT * FROM analytics.verify_invoices() WHERE NOT matches$$,
  'verify_invoices: every invoice''s quantities (with their adjustments) equal the counters and the raw log');
SELECT is(analytics.generate_invoices('2026-08-02 12:00+00'), 0, 'adjusted once: the next run adds nothing');

/* ---- The worked example ---------------------------------------------------- */

SELECT is(analytics.generate_invoices('2026-11-20 12:00+00') > 0, true, 'generation as of November 20');

SELECT is((SELECT string_agg(l.line_no || ' ' || l.kind || ' ' || l.description || ' | ' || l.quantity || ' ' || COALESCE(l.blocks::text, '-')
                             || ' x ' || l.unit_price || ' = ' || l.amount, E'\n' ORDER BY l.line_no)
             FROM analytics.invoices i JOIN analytics.invoice_lines l USING (invoice_id)
            WHERE i.org_id = 'nordlys' AND i.period_start = '2026-10-15'),
  E'1 base Premium (monthly) | 31 - x 3500 = 3500.00\n2 usage Widget impressions: 123007 impressions, 100000 included | 123007 24 x 50 = 1200.00',
  'README: the October invoice of nordlys: base fee, 23,007 impressions over 100,000 in 24 started blocks of 1,000 at 50 NOK');
SELECT is((SELECT period_start || '..' || period_end || ' ' || subtotal || ' ' || tax || ' ' || total || ' ' || currency || ' due ' || due_date
             FROM analytics.invoices WHERE org_id = 'nordlys' AND period_start = '2026-10-15'),
  '2026-10-15..2026-11-15 4700.00 1175.00 5875.00 NOK due 2026-11-29', 'README: subtotal, 25 % tax, total, due in 14 days');
SELECT is(analytics.meter_quantity('nordlys', NULL, 'widget_impressions', '2026-10-15', '2026-11-15'), 123007::numeric,
  'meter_quantity: the same quantity');
SELECT is((SELECT string_agg(meter_id || ' ' || quantity || ' ' || included_units, ', ')
             FROM analytics.plan_meter_quantities('nordlys', NULL, 'premium', '2026-10-15', '2026-11-15')),
  'widget_impressions 123007 100000', 'plan_meter_quantities: every meter of the plan');
SELECT is(analytics.meter_quantity(NULL, 'switcher', 'cost_plus', '2026-03-01', '2026-03-11'),
          (SELECT sum(cost) * 1.2 FROM analytics.chat_events WHERE user_id = 'switcher' AND usage_date < '2026-03-11'),
  'a cost meter with a markup');
SELECT throws_ok($$SELECT analytics.meter_quantity('nordlys', NULL, 'nope', '2026-10-15', '2026-11-15')$$,
  '42704', 'meter "nope" does not exist', 'meter_quantity: unknown meter');
SELECT throws_ok($$SELECT analytics.meter_quantity('nordlys', 'kari', 'requests', '2026-10-15', '2026-11-15')$$,
  '22023', 'give an organization or a user, not both or neither', 'meter_quantity: two subjects');
SELECT throws_ok($$SELECT analytics.meter_quantity('nordlys', NULL, 'requests', NULL, '2026-11-15')$$,
  '22008', 'period_start and period_end must be finite dates', 'meter_quantity: no period');

/* ---- Cancellation and statuses -------------------------------------------- */

SELECT is(analytics.cancel_subscription(:nordlys_sub, true, '2026-11-20 12:00+00'), '2026-12-14 23:00+00'::timestamptz,
  'cancel at period end: ends when the period holding the time ends');
SELECT is((SELECT cancel_at_period_end || ' ' || status FROM analytics.subscriptions WHERE subscription_id = :nordlys_sub),
  'true active', 'still active until then');
SELECT throws_ok($$SELECT analytics.cancel_subscription(-1)$$, '42704', 'subscription -1 does not exist',
  'cancel_subscription: unknown subscription');
SELECT is((SELECT status FROM analytics.subscriptions WHERE subscription_id = :late_sub), 'past_due',
  'a finalized invoice past its due date makes the subscription past_due');
SELECT is(analytics.mark_invoice_paid(:inv_a), true, 'paying the overdue invoice');
SELECT is((SELECT status FROM analytics.subscriptions WHERE subscription_id = :late_sub), 'active',
  'the subscription is active again');

/* ---- Row-level security as end users -------------------------------------- */

SET usage_analytics.user_id = 'kari';
SELECT is(pg_temp.as_role('ua_bill_user', $$SELECT count(*) || ' ' || count(*) FILTER (WHERE org_id = 'nordlys') FROM analytics.invoices$$),
  (SELECT count(*) || ' ' || count(*) FROM analytics.invoices WHERE org_id = 'nordlys'),
  'an organization''s owner reads its invoices, no other');
SELECT is(pg_temp.as_role('ua_bill_user', $$SELECT count(*)::text FROM analytics.invoice_lines WHERE org_id IS DISTINCT FROM 'nordlys'$$), '0',
  'and only its invoices'' lines');
SELECT analytics.add_member('nordlys', 'adam', 'admin') \gset
SET usage_analytics.user_id = 'adam';
SELECT is(pg_temp.as_role('ua_bill_user', $$SELECT count(*) || ' ' || count(*) FILTER (WHERE org_id = 'nordlys') FROM analytics.invoices$$),
  (SELECT count(*) || ' ' || count(*) FROM analytics.invoices WHERE org_id = 'nordlys'),
  'an organization''s admin too');
SET usage_analytics.user_id = 'ola';
SELECT is(pg_temp.as_role('ua_bill_user', $$SELECT count(*) || '/' || (SELECT count(*) FROM analytics.invoice_lines) FROM analytics.invoices$$), '0/0',
  'a plain member reads none');
SET usage_analytics.user_id = 'solo';
SELECT is(pg_temp.as_role('ua_bill_user', $$SELECT string_agg(DISTINCT COALESCE(user_id, org_id), ',') FROM analytics.invoices$$), 'solo',
  'a user reads its own invoices');
SET usage_analytics.user_id = 'carl';
SELECT is(pg_temp.as_role('ua_bill_user', $$SELECT count(*) || ' ' || (SELECT count(*) FROM analytics.credit_consumptions) FROM analytics.credit_grants$$),
  (SELECT count(*) || ' ' || (SELECT count(*) FROM analytics.credit_consumptions WHERE org_id = 'credco')
     FROM analytics.credit_grants WHERE org_id = 'credco'),
  'an owner reads its organization''s credit grants and consumption');
RESET usage_analytics.user_id;
SELECT is(pg_temp.as_role('ua_bill_app', $$SELECT count(*)::text FROM analytics.invoices$$),
  (SELECT count(*)::text FROM analytics.invoices), 'the app backend reads every invoice');
SELECT is(pg_temp.as_role('ua_bill_nobody', $$SELECT count(*)::text FROM analytics.invoices$$), 'ERROR 42501',
  'a role without a binding reads nothing');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
DROP OWNED BY ua_bill_user, ua_bill_app, ua_bill_nobody;
DROP ROLE ua_bill_user, ua_bill_app, ua_bill_nobody;
