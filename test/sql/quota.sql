\set ECHO none
\i test/setup.psql
SELECT plan(39);

INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_request_limit,
    monthly_token_limit, monthly_cost_limit, max_tokens_per_request, enforcement)
VALUES ('tiny', 'Tiny', 3, 5, 1000, 1, 600, 'hard'),
       ('softy', 'Soft', 1, NULL, NULL, NULL, NULL, 'soft'),
       ('zero', 'Zero', 0, NULL, NULL, NULL, NULL, 'hard'),
       ('costly', 'Cost only', NULL, NULL, NULL, 1, NULL, 'hard'),
       ('early', 'Early warnings', NULL, 10, NULL, NULL, NULL, 'hard');
UPDATE analytics.plans SET warn_thresholds = '{0.5,1.0}' WHERE plan_id = 'early';
SELECT ok(analytics.subscribe(u, p, now() - interval '1 year') > 0, 'subscribe ' || u)
  FROM (VALUES ('q1', 'tiny'), ('q2', 'tiny'), ('soft', 'softy'), ('z', 'zero'), ('c', 'costly'),
               ('big', 'enterprise'), ('w', 'early')) AS s(u, p);

CREATE TEMP VIEW tomorrow_utc AS
SELECT ((now() AT TIME ZONE 'UTC')::date + 1)::timestamp AT TIME ZONE 'UTC' AS t;
CREATE TEMP VIEW next_month_utc AS
SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' AS t;

SELECT results_eq($$SELECT allowed, status, limit_name, used, limit_value, remaining, usage_percent,
                           resets_at = (SELECT t FROM tomorrow_utc), plan_id
                      FROM analytics.check_quota('q1')$$,
  $$VALUES (true, 'normal', 'daily_requests', 0::numeric, 3::numeric, 3::numeric, 0.00::numeric, true, 'tiny')$$,
  'a new user: allowed, normal, reports its first limit, resets at the next local midnight');

SELECT results_eq($$SELECT allowed, status, limit_name, used, limit_value, remaining, resets_at IS NULL
                      FROM analytics.check_quota('q1', 601)$$,
  $$VALUES (false, 'limit_reached', 'max_tokens_per_request', 601::numeric, 600::numeric, 0::numeric, true)$$,
  'a request above max_tokens_per_request is refused');
SELECT is((SELECT allowed FROM analytics.check_quota('q1', 600)), true, 'max_tokens_per_request itself is allowed');

SELECT count(analytics.record_chat_event('q1', 'gpt-4o-mini', input_tokens => 10)) FROM generate_series(1, 2) \gset
SELECT results_eq($$SELECT allowed, status, limit_name, used, remaining, usage_percent FROM analytics.check_quota('q1')$$,
  $$VALUES (true, 'normal', 'daily_requests', 2::numeric, 1::numeric, 66.67::numeric)$$,
  'two of three daily requests: the fullest limit is reported');
SELECT analytics.record_chat_event('q1', 'gpt-4o-mini', input_tokens => 10) \gset
SELECT results_eq($$SELECT allowed, status, limit_name, used, remaining, usage_percent,
                           resets_at = (SELECT t FROM tomorrow_utc) FROM analytics.check_quota('q1')$$,
  $$VALUES (false, 'limit_reached', 'daily_requests', 3::numeric, 0::numeric, 100.00::numeric, true)$$,
  'the third request of the day reaches the daily limit exactly');
SELECT analytics.record_chat_event('q1', 'gpt-4o-mini', status => 'failed') \gset
SELECT is((SELECT used FROM analytics.check_quota('q1')), 4::numeric, 'failed requests count against the limit');

-- Last month's usage does not count.
SELECT analytics.record_chat_event('q2', 'gpt-4o-mini', input_tokens => 5000,
  occurred_at => date_trunc('month', now()) - interval '1 second') \gset
SELECT results_eq($$SELECT allowed, status, used FROM analytics.check_quota('q2')$$,
  $$VALUES (true, 'normal', 0::numeric)$$, 'usage of the previous month does not count');

-- Token limit: approaching, warning, and a request that would pass it.
SELECT analytics.record_chat_event('q2', 'gpt-4o-mini', input_tokens => 800) \gset
SELECT results_eq($$SELECT allowed, status, limit_name, used, remaining FROM analytics.check_quota('q2')$$,
  $$VALUES (true, 'approaching', 'monthly_tokens', 800::numeric, 200::numeric)$$, '80 % of the tokens: approaching');
SELECT analytics.record_chat_event('q2', 'gpt-4o-mini', output_tokens => 100) \gset
SELECT results_eq($$SELECT allowed, status, limit_name, usage_percent FROM analytics.check_quota('q2')$$,
  $$VALUES (true, 'warning', 'monthly_tokens', 90.00::numeric)$$, '90 % of the tokens: warning');
SELECT results_eq($$SELECT allowed, status, limit_name, resets_at = (SELECT t FROM next_month_utc) FROM analytics.check_quota('q2', 101)$$,
  $$VALUES (false, 'limit_reached', 'monthly_tokens', true)$$,
  'a request whose tokens would pass the monthly limit is refused; resets next month');
SELECT is((SELECT allowed FROM analytics.check_quota('q2', 100)), true, 'a request that fills the limit exactly is allowed');

-- Cost limit.
SELECT analytics.record_chat_event('c', 'gpt-4o', cost => 0.99) \gset
SELECT results_eq($$SELECT allowed, status, limit_name FROM analytics.check_quota('c')$$,
  $$VALUES (true, 'warning', 'monthly_cost')$$, '99 % of the cost limit: warning');
SELECT analytics.record_chat_event('c', 'gpt-4o', cost => 0.01) \gset
SELECT results_eq($$SELECT allowed, status, limit_name, used, limit_value FROM analytics.check_quota('c')$$,
  $$VALUES (false, 'limit_reached', 'monthly_cost', 1.00::numeric, 1::numeric)$$, 'cost limit reached exactly');

-- Soft plans admit and report.
SELECT analytics.record_chat_event('soft', 'gpt-4o', input_tokens => 1) \gset
SELECT results_eq($$SELECT allowed, status, limit_name FROM analytics.check_quota('soft')$$,
  $$VALUES (true, 'limit_reached', 'daily_requests')$$, 'a soft plan admits past its limit and says so');

-- A zero limit admits nothing; no limit admits everything.
SELECT results_eq($$SELECT allowed, status, usage_percent FROM analytics.check_quota('z')$$,
  $$VALUES (false, 'limit_reached', 100::numeric)$$, 'a zero limit admits nothing');
SELECT results_eq($$SELECT allowed, status, limit_name, used, resets_at FROM analytics.check_quota('big', 1000000)$$,
  $$VALUES (true, 'normal', NULL::text, NULL::numeric, NULL::timestamptz)$$, 'no limits: allowed, no limit named');

-- The plan's own warning threshold.
SELECT count(analytics.record_chat_event('w', 'gpt-4o')) FROM generate_series(1, 5) \gset
SELECT is((SELECT status FROM analytics.check_quota('w')), 'approaching', 'the plan''s lowest threshold (50 %) starts approaching');

-- Default plan and the subject's time zone.
SELECT is((SELECT plan_id FROM analytics.check_quota('nobody-yet')), 'free', 'no subscription: the default plan');
SELECT ok(analytics.subscribe('tk', 'pro', now() - interval '1 day', 'Asia/Tokyo') > 0, 'subscribe a Tokyo user');
SELECT is((SELECT resets_at FROM analytics.check_quota('tk')),
  ((now() AT TIME ZONE 'Asia/Tokyo')::date + 1)::timestamp AT TIME ZONE 'Asia/Tokyo',
  'daily limits reset at the user''s local midnight');

-- Subscriptions.
SELECT ok(analytics.subscribe('q1', 'pro') > 0, 'upgrade q1 to pro');
SELECT results_eq($$SELECT plan_id, ends_at IS NULL FROM analytics.subscriptions WHERE user_id = 'q1' ORDER BY starts_at$$,
  $$VALUES ('tiny', false), ('pro', true)$$, 'a new subscription ends the current one');
SELECT results_eq($$SELECT allowed, plan_id FROM analytics.check_quota('q1')$$,
  $$VALUES (true, 'pro')$$, 'the new plan applies at once');
SELECT throws_ok($$SELECT analytics.subscribe('q1', 'platinum')$$, '42704', 'plan "platinum" does not exist', 'unknown plan');
SELECT throws_ok($$SELECT analytics.subscribe('q1', 'pro', now(), 'Mars/Olympus')$$, '22023', 'unknown time zone "Mars/Olympus"', 'unknown time zone');
SELECT throws_ok($$SELECT analytics.subscribe(NULL, 'pro')$$, '23502', NULL, 'subscribe without user');
SELECT throws_ok($$SELECT analytics.subscribe('q1', 'pro', 'infinity')$$, '22008', NULL, 'subscribe at infinity');

-- Errors of check_quota.
SELECT throws_ok($$SELECT * FROM analytics.check_quota(NULL)$$, '23502', 'user_id must not be null', 'NULL user');
SELECT throws_ok($$SELECT * FROM analytics.check_quota('q1', -1)$$, '22023', NULL, 'negative tokens');
SET LOCAL usage_analytics.default_plan = 'gone';
SELECT throws_ok($$SELECT * FROM analytics.check_quota('nobody-yet')$$, '42704', 'plan "gone" does not exist', 'missing default plan');
RESET usage_analytics.default_plan;

-- check_quota answers from the counters: it never reads the raw log.
SELECT sum(seq_scan + COALESCE(idx_scan, 0)) AS scans0 FROM pg_stat_xact_user_tables
 WHERE schemaname = 'analytics' AND relname LIKE 'chat_events%' \gset
SELECT count(*) FROM (SELECT (analytics.check_quota(u, 10)).allowed FROM (VALUES ('q1'), ('q2'), ('c'), ('big')) v(u)) x \gset
SELECT is((SELECT sum(seq_scan + COALESCE(idx_scan, 0)) FROM pg_stat_xact_user_tables
            WHERE schemaname = 'analytics' AND relname LIKE 'chat_events%'), :scans0::numeric,
  'check_quota does not scan chat_events');

-- The current-month view uses the same logic.
SELECT set_eq($$SELECT user_id, status, limit_name, used, can_make_request FROM analytics.v_user_current_month$$,
  $$SELECT u, q.status, q.limit_name, q.used, q.allowed
      FROM (SELECT DISTINCT user_id FROM analytics.usage_counters
             WHERE usage_date >= date_trunc('month', now() AT TIME ZONE 'UTC')) AS s(u),
           analytics.check_quota(u) q$$,
  'v_user_current_month agrees with check_quota for every user with usage this month');

SELECT * FROM finish();
ROLLBACK;
