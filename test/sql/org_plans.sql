\set ECHO none
\i test/setup.psql
SELECT plan(52);

-- Organization plans: a subscription binds a user or an organization; a
-- request with org_id counts against the organization's plan, pooled over
-- its members, and the member's caps; without org_id against the user's
-- own plan, as before.

INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_request_limit, monthly_token_limit,
    enforcement, warn_thresholds)
VALUES ('team3', 'Team, three a month', NULL, 3, NULL, 'hard', '{0.5,1.0}'),
       ('solo2', 'Solo, two a day', 2, NULL, NULL, 'hard', '{0.8,1.0}');
SELECT analytics.create_organization('acme', 'Acme', owner_id => 'a', time_zone => 'Asia/Tokyo') \gset
SELECT analytics.add_member('acme', 'b') \gset
SELECT analytics.add_member('acme', 'c', monthly_request_cap => 1) \gset
SELECT analytics.add_member('acme', 'v', 'viewer') \gset
SELECT analytics.create_organization('dormant', 'Dormant', owner_id => 'a') \gset
SELECT analytics.suspend_organization('dormant') \gset

-- subscribe for an organization
SELECT throws_ok($$SELECT analytics.subscribe('a', 'team3', org_id => 'acme')$$, '22023',
  'a subscription binds a user or an organization, not both', 'user and organization at once');
SELECT throws_ok($$SELECT analytics.subscribe(NULL, 'team3', org_id => 'nope')$$, '42704',
  'organization "nope" does not exist', 'an unknown organization');
SELECT throws_ok($$SELECT analytics.subscribe(NULL, 'team3', time_zone => 'UTC', org_id => 'acme')$$, '22023', NULL,
  'another time zone than the organization''s');
SELECT throws_ok($$SELECT analytics.subscribe(NULL, 'team3')$$, '23502', NULL, 'neither user nor organization');
SELECT ok(analytics.subscribe(NULL, 'team3', now() - interval '1 day', org_id => 'acme') > 0, 'subscribe acme to team3');
SELECT results_eq($$SELECT user_id, org_id, time_zone FROM analytics.subscriptions WHERE org_id = 'acme'$$,
  $$VALUES (NULL::text, 'acme', 'Asia/Tokyo')$$, 'the subscription is the organization''s, in its time zone');
SELECT results_eq($$SELECT plan_id, time_zone FROM analytics.org_subject_at('acme', now())$$,
  $$VALUES ('team3', 'Asia/Tokyo')$$, 'org_subject_at: the plan in force');
SELECT results_eq($$SELECT plan_id, time_zone FROM analytics.org_subject_at('nope', now())$$,
  $$VALUES ('free', 'UTC')$$, 'org_subject_at of an unknown org_id: the default plan in UTC');
SELECT ok(analytics.subscribe('a', 'solo2') > 0, 'a''s own plan: two a day');
SELECT results_eq($$SELECT plan_id, time_zone FROM analytics.subject_at('a', now())$$,
  $$VALUES ('solo2', 'UTC')$$, 'subject_at of a user is unchanged');

-- Refusals at admission
SELECT throws_ok($$SELECT * FROM analytics.start_request('a', 'gpt-4o', 10, org_id => 'nope')$$, '42704',
  'organization "nope" does not exist', 'start_request in an unknown organization');
SELECT throws_ok($$SELECT * FROM analytics.start_request('z', 'gpt-4o', 10, org_id => 'acme')$$, '42501',
  'user "z" is not a member of organization "acme"', 'start_request by a user who is not a member');
SELECT throws_ok($$SELECT * FROM analytics.start_request('a', 'gpt-4o', 10, org_id => 'dormant')$$, '55000',
  'organization "dormant" is suspended', 'start_request in a suspended organization');
SELECT throws_ok($$SELECT * FROM analytics.check_quota('z', 0, NULL, org_id => 'acme')$$, '42501', NULL,
  'check_quota likewise');
SELECT throws_ok($$SELECT * FROM analytics.check_quota('a', 0, NULL, org_id => 'dormant')$$, '55000', NULL,
  'check_quota in a suspended organization');

-- The pooled limit: three a month over all members.
SELECT results_eq($$SELECT allowed, limit_name, remaining FROM analytics.start_request('a', 'gpt-4o', 10, 'ra1', org_id => 'acme')$$,
  $$VALUES (true, 'org_monthly_requests', 2::numeric)$$, 'a: admitted against the organization''s plan');
SELECT results_eq($$SELECT allowed, limit_name, remaining FROM analytics.start_request('b', 'gpt-4o', 10, 'rb1', org_id => 'acme')$$,
  $$VALUES (true, 'org_monthly_requests', 1::numeric)$$, 'b: pooled with a');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('c', 'gpt-4o', 10, 'rc1', org_id => 'acme')$$,
  $$VALUES (true, 'org_monthly_requests')$$, 'c: the third');
SELECT results_eq($$SELECT allowed, status, limit_name FROM analytics.start_request('b', 'gpt-4o', 10, 'rb2', org_id => 'acme')$$,
  $$VALUES (false, 'rejected', 'org_monthly_requests')$$, 'the fourth is refused: the pool is used up');
SELECT results_eq($$SELECT allowed, limit_name, used, limit_value, plan_id FROM analytics.check_quota('v', 0, NULL, org_id => 'acme')$$,
  $$VALUES (false, 'org_monthly_requests', 3::numeric, 3::numeric, 'team3')$$,
  'check_quota names the organization''s limit and plan');
SELECT results_eq($$SELECT allowed, limit_name, used FROM analytics.check_quota('a', 0)$$,
  $$VALUES (true, 'daily_requests', 0::numeric)$$, 'a''s own plan: the organization''s requests do not count');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('a', 'gpt-4o', 10, 'own1')$$,
  $$VALUES (true)$$, 'a''s own request: against a''s plan');
SELECT results_eq($$SELECT used FROM analytics.check_quota('a', 0)$$, $$VALUES (1::numeric)$$, 'and counted there');
SELECT results_eq($$SELECT org_id, user_id, sum(requests + pending_requests)::int, sum(rejected)::int
                      FROM analytics.org_usage_counters GROUP BY 1, 2 ORDER BY 1, 2$$,
  $$VALUES ('acme', '', 3, 1), ('acme', 'a', 1, 0), ('acme', 'b', 1, 1), ('acme', 'c', 1, 0)$$,
  'the organization''s counters: pooled, and each member''s share');
SELECT results_eq($$SELECT usage_date FROM analytics.chat_events WHERE request_id = 'ra1'$$,
  $$VALUES ((now() AT TIME ZONE 'Asia/Tokyo')::date)$$, 'the organization''s local day (Tokyo)');

-- Settling and expiry keep the organization's counters.
SELECT results_eq($$SELECT status_out FROM analytics.complete_request(user_id => 'a', request_id => 'ra1', input_tokens => 7, cost => 0.5)$$,
  $$VALUES ('completed')$$, 'complete a request in the organization');
SELECT results_eq($$SELECT sum(requests)::int, sum(pending_requests)::int, sum(input_tokens)::int, sum(cost)
                      FROM analytics.org_usage_counters WHERE org_id = 'acme' AND user_id = ''$$,
  $$VALUES (1, 2, 7, 0.5::numeric)$$, 'settled in the pooled counters');
SELECT is_empty($$SELECT * FROM analytics.verify_rollups()$$, 'counters (the organizations'' too) equal the raw log');

-- The member's cap: c may make one request a month.
UPDATE analytics.subscriptions SET plan_id = 'enterprise' WHERE org_id = 'acme';
SELECT results_eq($$SELECT allowed, limit_name, remaining FROM analytics.start_request('c', 'gpt-4o', 10, 'rc2', org_id => 'acme')$$,
  $$VALUES (false, 'member_monthly_requests', 0::numeric)$$, 'c''s cap refuses on a soft organization plan');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('b', 'gpt-4o', 10, 'rb3', org_id => 'acme')$$,
  $$VALUES (true)$$, 'b has no cap: admitted');
SELECT analytics.update_member('acme', 'c', remove_caps => true) \gset
SELECT results_eq($$SELECT allowed FROM analytics.start_request('c', 'gpt-4o', 10, 'rc3', org_id => 'acme')$$,
  $$VALUES (true)$$, 'without the cap, c is admitted');
UPDATE analytics.subscriptions SET plan_id = 'team3' WHERE org_id = 'acme';

-- record_chat_event with org_id: never refused (the usage happened).
SELECT ok(analytics.record_chat_event('z', 'gpt-4o', input_tokens => 5, org_id => 'acme') > 0,
  'a user who is not a member: recorded');
SELECT ok(analytics.record_chat_event('a', 'gpt-4o', input_tokens => 5, org_id => 'dormant') > 0,
  'a suspended organization: recorded');
SELECT ok(analytics.record_chat_event('a', 'gpt-4o', input_tokens => 5, org_id => 'unregistered') > 0,
  'an org_id that is no organization: recorded');
SELECT results_eq($$SELECT org_id, user_id, sum(requests)::int FROM analytics.org_usage_counters
                     WHERE (org_id, user_id) IN (('acme', 'z'), ('dormant', ''), ('unregistered', 'a')) GROUP BY 1, 2 ORDER BY 1, 2$$,
  $$VALUES ('acme', 'z', 1), ('dormant', '', 1), ('unregistered', 'a', 1)$$,
  'each counted in its organization''s counters');
SELECT results_eq($$SELECT used FROM analytics.check_quota('a', 0)$$, $$VALUES (1::numeric)$$,
  'none of them against a''s own plan');
SELECT ok(analytics.record_chat_event('a', 'gpt-4o', input_tokens => 5, org_id => 'acme',
  occurred_at => date_trunc('day', now() AT TIME ZONE 'Asia/Tokyo') AT TIME ZONE 'Asia/Tokyo' - interval '1 minute') > 0,
  'an event a minute before the Tokyo midnight');
SELECT results_eq($$SELECT usage_date FROM analytics.chat_events WHERE org_id = 'acme' ORDER BY occurred_at LIMIT 1$$,
  $$VALUES ((now() AT TIME ZONE 'Asia/Tokyo')::date - 1)$$, 'is on the organization''s previous day');

-- Notifications with the organization as recipient, once per threshold and period.
SELECT results_eq($$SELECT user_id, org_id, limit_name, threshold, plan_id FROM analytics.notifications
                     WHERE org_id <> '' ORDER BY threshold$$,
  $$VALUES ('', 'acme', 'org_monthly_requests', 0.5, 'team3'), ('', 'acme', 'org_monthly_requests', 1.0, 'team3')$$,
  'the organization''s thresholds: one row each, for the organization');
SELECT ok(analytics.record_chat_event('b', 'gpt-4o', input_tokens => 5, org_id => 'acme') > 0, 'more usage');
SELECT is((SELECT count(*) FROM analytics.notifications WHERE org_id = 'acme'), 2::bigint, 'no second row');
SELECT is((SELECT count(*) FROM analytics.notifications WHERE org_id = 'unregistered' OR org_id = 'dormant'),
  0::bigint, 'an unregistered org_id notifies no one; the suspended organization is under the default plan''s thresholds');
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id IN ('a', 'b', 'c', 'z')), 0::bigint,
  'the members get no personal notification for the organization''s usage');
SELECT is_empty($$SELECT * FROM analytics.verify_rollups()$$, 'counters still equal the raw log');

-- rebuild_rollups recomputes the organizations' counters too.
UPDATE analytics.org_usage_counters SET requests = requests + 100 WHERE org_id = 'acme' AND user_id = '';
SELECT isnt_empty($$SELECT * FROM analytics.verify_rollups()$$, 'a tampered counter is found');
SELECT ok(analytics.rebuild_rollups(current_date - 40, current_date + 1) >= 0, 'rebuild');
SELECT is_empty($$SELECT * FROM analytics.verify_rollups()$$, 'and repaired');

-- Expiry releases the organization's reservations.
SET LOCAL usage_analytics.reservation_ttl = '1s';
SELECT pg_sleep(1.1) \gset
SELECT ok(analytics.expire_reservations() > 0, 'expire the pending requests');
SELECT results_eq($$SELECT sum(pending_requests)::int FROM analytics.org_usage_counters WHERE org_id = 'acme'$$,
  $$VALUES (0)$$, 'no reservation left in the organization''s counters');

-- subscription_expiring: the alert job writes one row per subscription end within 7 days.
SELECT analytics.create_organization('shortco', 'Short Co') \gset
SELECT analytics.subscribe(NULL, 'team3', now() - interval '1 day', ends_at => now() + interval '3 days', org_id => 'shortco') \gset
SELECT analytics.subscribe('trial', 'pro', now() - interval '1 day', ends_at => now() + interval '2 days') \gset
SELECT analytics.subscribe('renew', 'pro', now() - interval '1 day', ends_at => now() + interval '2 days') \gset
SELECT analytics.subscribe('renew', 'pro', now() + interval '2 days') \gset
SELECT analytics.subscribe('later', 'pro', now() - interval '1 day', ends_at => now() + interval '30 days') \gset
SELECT is(analytics.evaluate_alerts(), 2, 'evaluate_alerts writes two subscription_expiring rows');
SELECT results_eq($$SELECT user_id, org_id, plan_id, period_start, limit_value FROM analytics.notifications
                     WHERE limit_name = 'subscription_expiring' ORDER BY org_id, user_id$$,
  $$VALUES ('trial', '', 'pro', (now() + interval '2 days')::date, 7::numeric),
           ('', 'shortco', 'team3', ((now() + interval '3 days') AT TIME ZONE 'UTC')::date, 7::numeric)$$,
  'one for the user''s trial, one for the organization (not for a subscription followed by another, nor one ending later)');
SELECT is(analytics.evaluate_alerts(), 0, 'exactly once');

SELECT * FROM finish();
ROLLBACK;
