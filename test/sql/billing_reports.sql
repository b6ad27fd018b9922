\set ECHO none
\i test/setup.psql
SELECT plan(41);

-- Seed 004's revenue reports under row-level security, and prepaid
-- credits (grant_credits, credit_balance).  Invoices are written here
-- directly, in the statuses billing.sql's functions give them.

CREATE ROLE ua_br_user;
CREATE ROLE ua_br_app;
CREATE ROLE ua_br_admin;
CREATE ROLE ua_br_orgadmin;
SELECT analytics.grant_end_user('ua_br_user'), analytics.grant_app_backend('ua_br_app'),
       analytics.grant_admin('ua_br_admin'), analytics.grant_admin('ua_br_orgadmin', 'acme') \gset
SELECT analytics.create_organization('acme', 'Acme', owner_id => 'own'),
       analytics.create_organization('globex', 'Globex', currency => 'EUR', owner_id => 'gx'),
       analytics.create_organization('initech', 'Initech', owner_id => 'ini'),
       analytics.create_organization('hooli', 'Hooli', owner_id => 'hoo'),
       analytics.create_organization('umbrella', 'Umbrella', owner_id => 'umb') \gset
SELECT analytics.add_member('acme', 'adm', 'admin'), analytics.add_member('acme', 'mem') \gset
INSERT INTO analytics.plans (plan_id, name, price_per_month, billing_cycle, price_per_year, currency) VALUES
  ('monthly', 'Monthly', 100, 'monthly', NULL, 'USD'),
  ('yearly', 'Yearly', 100, 'yearly', 1000, 'USD'),
  ('yearly_eur', 'Yearly EUR', 50, 'yearly', NULL, 'EUR');
-- acme monthly (active), globex yearly in EUR (past_due), initech on a
-- trial, hooli cancelled, umbrella unpaid, ursula yearly (active).
SELECT analytics.subscribe(NULL, 'monthly', now() - interval '90 days', org_id => 'acme') AS s_acme,
       analytics.subscribe(NULL, 'yearly_eur', now() - interval '90 days', org_id => 'globex') AS s_globex,
       analytics.subscribe(NULL, 'monthly', now() - interval '5 days', org_id => 'initech') AS s_initech,
       analytics.subscribe(NULL, 'monthly', now() - interval '90 days', org_id => 'hooli') AS s_hooli,
       analytics.subscribe(NULL, 'monthly', now() - interval '90 days', org_id => 'umbrella') AS s_umbrella,
       analytics.subscribe('ursula', 'yearly', now() - interval '400 days') AS s_ursula \gset
UPDATE analytics.subscriptions SET status = CASE org_id WHEN 'globex' THEN 'past_due' WHEN 'initech' THEN 'trialing'
                                                        WHEN 'hooli' THEN 'cancelled' WHEN 'umbrella' THEN 'unpaid'
                                                        ELSE 'active' END;
UPDATE analytics.subscriptions SET trial_ends_at = now() + interval '9 days' WHERE org_id = 'initech';

SELECT results_eq($$SELECT COALESCE(org_id, user_id), status, mrr, arr FROM analytics.billing_mrr ORDER BY 1$$,
  $$VALUES ('acme', 'active', 100::numeric, 1200::numeric), ('globex', 'past_due', 50, 600), ('ursula', 'active', 1000 / 12::numeric, 1000)$$,
  'billing_mrr: active and past_due; a yearly plan is its yearly price / 12 (price_per_year, else 12 x price_per_month); trialing, cancelled, unpaid excluded');
SELECT results_eq($$SELECT * FROM analytics.mrr()$$,
  $$VALUES ('EUR', 1::bigint, 50.00, 600.00), ('USD', 2::bigint, 183.33, 2200.00)$$,
  'mrr(): per currency, rounded to the minor unit; ARR = 12 x MRR');
SELECT results_eq($$SELECT currency, subscriptions FROM analytics.mrr(now() - interval '30 days')$$,
  $$VALUES ('EUR', 1::bigint), ('USD', 2::bigint)$$, 'mrr(as_of): the subscriptions in force then');
SELECT is_empty($$SELECT * FROM analytics.mrr(now() - interval '500 days')$$, 'before any subscription: none');

-- Invoices: acme two months (paid, then finalized and overdue), a draft
-- and a void one; globex a paid EUR invoice; ursula a paid yearly one.
CREATE FUNCTION pg_temp.invoice(org text, usr text, sub bigint, plan text, cur text, ps date, pe date,
    total numeric, st text, due date) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  id bigint;
BEGIN
  INSERT INTO analytics.invoices (org_id, user_id, subscription_id, plan_id, currency, time_zone, period_start, period_end,
                                  period_start_at, period_end_at, subtotal, tax_rate, tax, total, due_date, as_of)
  VALUES (org, usr, sub, plan, cur, 'UTC', ps, pe, ps::timestamp AT TIME ZONE 'UTC', pe::timestamp AT TIME ZONE 'UTC',
          round(total / 1.25, 2), 0.25, total - round(total / 1.25, 2), total, due, now())
  RETURNING invoice_id INTO id;
  IF st <> 'draft' THEN
    UPDATE analytics.invoices SET status = 'finalized', invoice_number = 'INV-2026-' || lpad(id::text, 6, '0'),
           number_year = 2026, number_seq = id, finalized_at = now() WHERE invoice_id = id;
  END IF;
  IF st IN ('paid', 'void') THEN
    UPDATE analytics.invoices SET status = st,
           paid_at = CASE WHEN st = 'paid' THEN now() END,
           voided_at = CASE WHEN st = 'void' THEN now() END WHERE invoice_id = id;
  END IF;
  RETURN id;
END
$$;
SELECT pg_temp.invoice('acme', NULL, :s_acme, 'monthly', 'USD', '2026-01-01', '2026-02-01', 125, 'paid', '2026-02-15'),
       pg_temp.invoice('acme', NULL, :s_acme, 'monthly', 'USD', '2026-02-01', '2026-03-01', 150, 'finalized', current_date - 3),
       pg_temp.invoice('acme', NULL, :s_acme, 'monthly', 'USD', '2026-03-01', '2026-04-01', 175, 'finalized', current_date),
       pg_temp.invoice('acme', NULL, :s_acme, 'monthly', 'USD', '2026-04-01', '2026-05-01', 999, 'draft', current_date - 9),
       pg_temp.invoice('hooli', NULL, :s_hooli, 'monthly', 'USD', '2026-01-01', '2026-02-01', 500, 'void', current_date - 9),
       pg_temp.invoice('globex', NULL, :s_globex, 'yearly_eur', 'EUR', '2026-01-15', '2027-01-15', 750, 'paid', '2026-02-01'),
       pg_temp.invoice(NULL, 'ursula', :s_ursula, 'yearly', 'USD', '2025-01-01', '2026-01-01', 1250, 'paid', '2025-01-15'),
       pg_temp.invoice(NULL, 'ursula', :s_ursula, 'yearly', 'USD', '2026-01-01', '2027-01-01', 1250, 'paid', '2026-01-15') \gset
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;

SELECT results_eq($$SELECT plan_id, month, currency, invoices, subtotal, tax, total, paid, outstanding
                      FROM analytics.revenue_by_plan_month ORDER BY plan_id, month$$,
  $$VALUES ('monthly', date '2026-01-01', 'USD', 1::bigint, 100.00, 25.00, 125::numeric, 125::numeric, 0::numeric),
           ('monthly', '2026-02-01', 'USD', 1, 120.00, 30.00, 150, 0, 150),
           ('monthly', '2026-03-01', 'USD', 1, 140.00, 35.00, 175, 0, 175),
           ('yearly', '2025-01-01', 'USD', 1, 1000.00, 250.00, 1250, 1250, 0),
           ('yearly', '2026-01-01', 'USD', 1, 1000.00, 250.00, 1250, 1250, 0),
           ('yearly_eur', '2026-01-01', 'EUR', 1, 600.00, 150.00, 750, 750, 0)$$,
  'revenue_by_plan_month: issued invoices (finalized or paid) by plan and the month of their period; drafts and void ones are not revenue');
SELECT results_eq($$SELECT org_id, total, days_overdue FROM analytics.overdue_invoices$$,
  $$VALUES ('acme', 150::numeric, 3)$$,
  'overdue_invoices: finalized and past the due date (not on it; not paid, void or draft)');
SELECT results_eq($$SELECT COALESCE(org_id, user_id), currency, paid_invoices, lifetime_value, tenure_months, avg_monthly_revenue
                      FROM analytics.customer_lifetime_value ORDER BY 1$$,
  $$VALUES ('acme', 'USD', 1::bigint, 125::numeric, 1.02, 122.55),
           ('globex', 'EUR', 1, 750, 11.99, 62.55),
           ('ursula', 'USD', 2, 2500, 23.98, 104.25)$$,
  'customer_lifetime_value: paid totals per subject and currency, tenure in months of 365.25/12 days, average per month');

-- Who sees what.
CREATE FUNCTION pg_temp.seen(identity text, r text DEFAULT 'ua_br_user') RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('usage_analytics.user_id', COALESCE(identity, ''), true);
  RETURN pg_temp.as_role(r, $q$SELECT concat_ws(' | ',
    'mrr ' || (SELECT string_agg(COALESCE(org_id, user_id), ',' ORDER BY 1) FROM analytics.billing_mrr),
    'revenue ' || (SELECT string_agg(plan_id || ':' || total, ',' ORDER BY plan_id, month) FROM analytics.revenue_by_plan_month),
    'overdue ' || (SELECT string_agg(COALESCE(org_id, user_id), ',') FROM analytics.overdue_invoices),
    'ltv ' || (SELECT string_agg(COALESCE(org_id, user_id), ',' ORDER BY 1) FROM analytics.customer_lifetime_value),
    'currencies ' || (SELECT string_agg(currency, ',') FROM analytics.mrr()))$q$);
END
$$;
SELECT is(pg_temp.seen('own'), 'mrr acme | revenue monthly:125,monthly:150,monthly:175 | overdue acme | ltv acme | currencies USD',
  'an organization''s owner: its own figures only');
SELECT is(pg_temp.seen('adm'), pg_temp.seen('own'), 'an admin of the organization: the same');
SELECT is(pg_temp.seen('mem'), '', 'a member: nothing (invoices are for owners and admins)');
SELECT is(pg_temp.seen('ursula'), 'mrr ursula | revenue yearly:1250,yearly:1250 | ltv ursula | currencies USD', 'a user: their own');
SELECT is(pg_temp.seen('nobody'), '', 'anyone else: nothing');
SELECT is(pg_temp.seen(NULL, 'ua_br_orgadmin'), pg_temp.seen('own'), 'a role bound with grant_admin(role, ''acme''): acme''s');
SELECT is(pg_temp.seen(NULL, 'ua_br_admin'),
  'mrr acme,globex,ursula | revenue monthly:125,monthly:150,monthly:175,yearly:1250,yearly:1250,yearly_eur:750 | overdue acme | ltv acme,globex,ursula | currencies EUR,USD',
  'an all-rows admin: everything');
SELECT is(pg_temp.seen(NULL, 'ua_br_app'), pg_temp.seen(NULL, 'ua_br_admin'), 'an app backend: everything');
-- A predicate of the caller's cannot reach rows RLS hides (security_invoker views).
SET usage_analytics.user_id = 'own';
SELECT is(pg_temp.as_role('ua_br_user', $$SELECT count(*)::text FROM analytics.overdue_invoices WHERE 1 / (total - 150) > 0 OR org_id <> 'acme'$$),
  'ERROR 22012', 'a failing predicate errs on the caller''s own row only');
SELECT is(pg_temp.as_role('ua_br_user', $$SELECT count(*)::text FROM analytics.customer_lifetime_value WHERE 1 / (lifetime_value - 750) <> 0$$),
  '1', 'and never on another organization''s (globex''s 750 is not reached)');
RESET usage_analytics.user_id;

-- Top subjects by provider cost, from the counters: organizations (their
-- pooled requests) and users (outside organizations).
SELECT analytics.record_chat_event('mem', 'gpt-4o', input_tokens => 10, cost => 3, org_id => 'acme'),
       analytics.record_chat_event('own', 'gpt-4o', input_tokens => 20, cost => 4, org_id => 'acme'),
       analytics.record_chat_event('mem', 'gpt-4o', input_tokens => 5, cost => 1),
       analytics.record_chat_event('ursula', 'gpt-4o', input_tokens => 100, cost => 5),
       analytics.record_chat_event('gx', 'gpt-4o', input_tokens => 1, cost => 2, org_id => 'globex') \gset
SELECT results_eq($$SELECT * FROM analytics.top_subjects_by_cost(current_date - 1, current_date + 1)$$,
  $$VALUES ('organization', 'acme', 2::bigint, 30::bigint, 7::numeric), ('user', 'ursula', 1, 100, 5),
           ('organization', 'globex', 1, 1, 2), ('user', 'mem', 1, 5, 1)$$,
  'top_subjects_by_cost: organizations and users outside them, most expensive first');
SELECT results_eq($$SELECT subject_id FROM analytics.top_subjects_by_cost(current_date - 1, current_date + 1, 2)$$,
  $$VALUES ('acme'), ('ursula')$$, 'limit');
SELECT is_empty($$SELECT * FROM analytics.top_subjects_by_cost(current_date + 1, current_date + 2)$$, 'another period: none');
SET usage_analytics.user_id = 'mem';
SELECT is(pg_temp.as_role('ua_br_user', $$SELECT string_agg(subject_id || ':' || cost, ',') FROM analytics.top_subjects_by_cost(current_date, current_date + 1)$$),
  'acme:7,mem:1', 'a member: the organization''s total (which members read) and their own');
RESET usage_analytics.user_id;
SELECT throws_ok($$SELECT * FROM analytics.top_subjects_by_cost(NULL, current_date)$$, '23502', NULL, 'a NULL date: 23502');
SELECT throws_ok($$SELECT * FROM analytics.top_subjects_by_cost(current_date, current_date - 1)$$, '22023', NULL, 'to_date before from_date: 22023');
SELECT throws_ok($$SELECT * FROM analytics.top_subjects_by_cost(current_date, current_date, 0)$$, '22023', NULL, 'limit 0: 22023');

-- Prepaid credits.
SELECT analytics.grant_credits('acme', 100, expires_at => now() + interval '30 days', priority => 10) AS g1,
       analytics.grant_credits('acme', 50, 'EUR') AS g2,
       analytics.grant_credits('acme', 20, effective_at => now() - interval '60 days', expires_at => now() - interval '1 day') AS g3,
       analytics.grant_credits(NULL, 5, user_id => 'ursula', category => 'promotional') AS g4 \gset
SELECT results_eq(format('SELECT org_id, user_id, amount, currency, priority FROM analytics.credit_grants WHERE grant_id IN (%s, %s, %s) ORDER BY grant_id', :g1, :g2, :g4),
  $$VALUES ('acme', NULL, 100::numeric, 'USD', 10), ('acme', NULL, 50, 'EUR', 50), (NULL, 'ursula', 5, 'USD', 50)$$,
  'grant_credits: amount, currency (default: the organization''s), priority, a user''s grant');
-- Consumption as invoices write it (billing.sql): 30 used of g1, 12 of
-- the expired g3, 10 of g1 given back by a voided invoice.
INSERT INTO analytics.credit_consumptions (grant_id, invoice_id, org_id, amount)
VALUES (:g1, (SELECT min(invoice_id) FROM analytics.invoices), 'acme', 30),
       (:g3, (SELECT min(invoice_id) FROM analytics.invoices), 'acme', 12),
       (:g1, (SELECT max(invoice_id) FROM analytics.invoices WHERE org_id = 'hooli'), 'acme', 40),
       (:g1, (SELECT max(invoice_id) FROM analytics.invoices WHERE org_id = 'hooli'), 'acme', -10);
SELECT results_eq($$SELECT currency, available, granted, consumed, expired, grants, next_expiry IS NOT NULL FROM analytics.credit_balance('acme')$$,
  $$VALUES ('EUR', 50::numeric, 50::numeric, 0::numeric, 0::numeric, 1::bigint, false),
           ('USD', 40, 120, 72, 8, 2, true)$$,
  'credit_balance: per currency; available = amounts less consumption of live grants; the expired remainder is lost');
SELECT is((SELECT available FROM analytics.credit_balance('acme') WHERE currency = 'USD'),
  (SELECT g.amount - sum(c.amount) FROM analytics.credit_grants g JOIN analytics.credit_consumptions c USING (grant_id)
    WHERE g.grant_id = :g1 GROUP BY g.amount), 'exact against the consumption rows');
SELECT is((SELECT available FROM analytics.credit_balance('acme', as_of => now() + interval '31 days') WHERE currency = 'USD'), 0::numeric,
  'after the expiry nothing is available');
SELECT is((SELECT available::text FROM analytics.credit_balance(NULL, 'ursula')), '5', 'a user''s balance');
CREATE FUNCTION pg_temp.balance(identity text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('usage_analytics.user_id', identity, true);
  RETURN pg_temp.as_role('ua_br_user', $q$SELECT COALESCE(string_agg(currency || ':' || available, ','), '') FROM analytics.credit_balance('acme')$q$);
END
$$;
SELECT results_eq($$SELECT pg_temp.balance(u) FROM unnest(ARRAY['own', 'mem', 'gx']) u$$,
  $$VALUES ('EUR:50,USD:40'), (''), ('')$$, 'the owner reads the organization''s balance; a member and another organization nothing');
SELECT throws_ok($$SELECT analytics.grant_credits('acme', 0)$$, '22023', NULL, 'amount 0: 22023');
SELECT throws_ok($$SELECT analytics.grant_credits('acme', 1, 'XXX')$$, '22023', NULL, 'unknown currency: 22023');
SELECT throws_ok($$SELECT analytics.grant_credits('acme', 1, priority => 101)$$, '22023', NULL, 'priority above 100: 22023');
SELECT throws_ok($$SELECT analytics.grant_credits('acme', 1, expires_at => now() - interval '1 day')$$, '22023', NULL, 'expired at once: 22023');
SELECT throws_ok($$SELECT analytics.grant_credits('nope', 1)$$, '42704', NULL, 'unknown organization: 42704');
SELECT throws_ok($$SELECT analytics.grant_credits('acme', 1, user_id => 'x')$$, '22023', NULL, 'two subjects: 22023');
SELECT throws_ok($$SELECT analytics.grant_credits('acme', NULL)$$, '23502', NULL, 'NULL amount: 23502');
SELECT throws_ok($$SELECT * FROM analytics.credit_balance(NULL)$$, '22023', NULL, 'credit_balance without a subject: 22023');
SELECT is(pg_temp.as_role('ua_br_user', $$SELECT analytics.grant_credits('acme', 1)::text$$), 'ERROR 42501', 'end users cannot grant credits');
SELECT is(pg_temp.as_role('ua_br_orgadmin', $$SELECT analytics.grant_credits('acme', 1)::text$$), 'ERROR 42501',
  'nor organization-scoped admins');
SELECT ok(pg_temp.as_role('ua_br_admin', $$SELECT analytics.grant_credits('acme', 1)::text$$) ~ '^\d+$', 'an admin may');

SELECT * FROM finish();
ROLLBACK;
