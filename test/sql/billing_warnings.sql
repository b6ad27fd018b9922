\set ECHO none
\i test/setup.psql
SELECT plan(14);

-- Billing warnings: included units of a meter at 80 % and 100 % and
-- overage started, once per subject, meter, billing period and threshold,
-- written by evaluate_billing_warnings() (a job), not by the write path.
-- The NOTIFY and two evaluations at once: test/specs/billing_warning_race.spec;
-- run by pg_cron in a fresh session: test/t/001_cron_jobs.pl.

CREATE ROLE ua_bw_user;
CREATE ROLE ua_bw_admin;
SELECT analytics.grant_end_user('ua_bw_user'), analytics.grant_admin('ua_bw_admin') \gset
SELECT analytics.create_organization('acme', 'Acme', currency => 'NOK', time_zone => 'Europe/Oslo', owner_id => 'own') \gset
SELECT analytics.add_member('acme', 'mem') \gset
-- 10 requests included (the plans shorthand), and 1,000 tokens (a charge).
INSERT INTO analytics.plans (plan_id, name, price_per_month, currency, included_units, overage_unit_price)
VALUES ('ten', 'Ten', 100, 'NOK', 10, 1);
INSERT INTO analytics.plan_charges (plan_id, meter_id, included_units, block_size, block_price)
VALUES ('ten', 'tokens', 1000, 1000, 5);
SELECT analytics.subscribe(NULL, 'ten', now() - interval '10 days', org_id => 'acme') AS s_acme \gset
-- A user on a trial: never warned.
SELECT analytics.subscribe('trial_user', 'ten', now() - interval '1 day') AS s_trial \gset
UPDATE analytics.subscriptions SET status = 'trialing', trial_ends_at = now() + interval '13 days'
 WHERE subscription_id = :s_trial;
SELECT (now() - interval '10 days') AT TIME ZONE 'Europe/Oslo' AS start_local \gset

SELECT count(analytics.record_chat_event('mem', 'gpt-4o', input_tokens => 10, org_id => 'acme')),
       count(analytics.record_chat_event('trial_user', 'gpt-4o', input_tokens => 500))
  FROM generate_series(1, 7) \gset
SELECT is(analytics.evaluate_billing_warnings(), 0, '7 of 10 requests, 70 of 1,000 tokens: nothing');
SELECT analytics.record_chat_event('mem', 'gpt-4o', input_tokens => 730, org_id => 'acme') \gset
SELECT is(analytics.evaluate_billing_warnings(), 2, '8 requests and 800 tokens: two 80 % warnings');
SELECT results_eq($$SELECT user_id, org_id, limit_name, period_start, threshold, used, limit_value, plan_id
                      FROM analytics.notifications ORDER BY limit_name$$,
  format($$VALUES ('', 'acme', 'billing_warning:requests', date %1$L, 0.8, 8::numeric, 10::numeric, 'ten'),
                  ('', 'acme', 'billing_warning:tokens', date %1$L, 0.8, 800, 1000, 'ten')$$, (:'start_local'::timestamp)::date),
  'for the organization, its billing period''s first local day, the quantity and the included units');
SELECT is(analytics.evaluate_billing_warnings(), 0, 'evaluated again: nothing more');
SELECT count(analytics.record_chat_event('mem', 'gpt-4o', input_tokens => 100, org_id => 'acme'))
  FROM generate_series(1, 2) \gset
SELECT is(analytics.evaluate_billing_warnings(), 2, '10 requests and 1,000 tokens: the 100 % warnings');
SELECT analytics.record_chat_event('mem', 'gpt-4o', input_tokens => 1, org_id => 'acme') \gset
SELECT is(analytics.evaluate_billing_warnings(), 2, 'one more request: overage started on both meters');
SELECT results_eq($$SELECT limit_name, threshold, used FROM analytics.notifications ORDER BY limit_name, threshold$$,
  $$VALUES ('billing_overage:requests', 1::numeric, 11::numeric), ('billing_overage:tokens', 1, 1001),
           ('billing_warning:requests', 0.8, 8), ('billing_warning:requests', 1, 10),
           ('billing_warning:tokens', 0.8, 800), ('billing_warning:tokens', 1, 1000)$$,
  'one row per meter, period and threshold; the trial user none');
SELECT is(analytics.evaluate_billing_warnings(), 0, 'and never twice');

-- A jump past every threshold at once writes the three rows together.
SELECT analytics.subscribe('uma', 'ten', now() - interval '1 day') \gset
SELECT count(analytics.record_chat_event('uma', 'gpt-4o', input_tokens => 1)) FROM generate_series(1, 12) \gset
SELECT is(analytics.evaluate_billing_warnings(), 3, 'a user past the included requests at once: 80 %, 100 % and overage');
SELECT results_eq($$SELECT org_id, limit_name, threshold FROM analytics.notifications WHERE user_id = 'uma' ORDER BY 2, 3$$,
  $$VALUES ('', 'billing_overage:requests', 1::numeric), ('', 'billing_warning:requests', 0.8), ('', 'billing_warning:requests', 1)$$,
  'a user''s warnings are theirs');

-- Who reads them: the organization's owner, not a member; the user.
CREATE FUNCTION pg_temp.seen(identity text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('usage_analytics.user_id', identity, true);
  RETURN pg_temp.as_role('ua_bw_user', $q$SELECT count(*)::text FROM analytics.list_notifications() WHERE limit_name LIKE 'billing_%'$q$);
END
$$;
SELECT results_eq($$SELECT pg_temp.seen(u) FROM unnest(ARRAY['own', 'mem', 'uma', 'trial_user']) u$$,
  $$VALUES ('6'), ('0'), ('3'), ('0')$$, 'the owner reads the organization''s six, a member none, a user their own');
SELECT is(pg_temp.as_role('ua_bw_user', 'SELECT analytics.evaluate_billing_warnings()::text'), 'ERROR 42501',
  'end users cannot run the evaluation');
SELECT is(pg_temp.as_role('ua_bw_admin', 'SELECT analytics.evaluate_billing_warnings()::text'), '0', 'admins can');
SELECT is((SELECT command FROM analytics.job_definitions() WHERE job_name = 'usage_analytics_billing_warnings'),
  'SELECT analytics.evaluate_billing_warnings()', 'a scheduled job runs it');

SELECT * FROM finish();
ROLLBACK;
