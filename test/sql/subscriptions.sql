\set ECHO none
\i test/setup.psql
SELECT plan(30);

-- Subscriptions that end (ends_at) and trials: at ends_at the user falls
-- back to usage_analytics.default_plan (here the shipped 'free': 50
-- requests a day, 16,000 tokens a request, gpt-4o-mini and
-- gemini-2.0-flash), at that instant, and keeps the time zone of the
-- subscription that ended: day and month buckets do not move to UTC.

SELECT throws_ok($$SELECT analytics.subscribe('x', 'pro', now(), 'UTC', ends_at => now())$$, '22023',
  'ends_at must be after starts_at', 'subscribe refuses an end at or before the start');
SELECT throws_ok($$SELECT analytics.subscribe('x', 'pro', now(), 'UTC', ends_at => now() - interval '1 day')$$, '22023',
  'ends_at must be after starts_at', 'and one before it');

-- Fixed instants: ends at 23:30 UTC on 10 March, 08:30 on 11 March in Tokyo.
SELECT ok(analytics.subscribe('tk', 'pro', '2026-03-01 00:00+00', 'Asia/Tokyo',
                              ends_at => '2026-03-10 23:30+00') > 0, 'subscribe with an end');
SELECT is((SELECT ends_at FROM analytics.subscriptions WHERE user_id = 'tk'), '2026-03-10 23:30+00'::timestamptz,
  'ends_at is stored');
SELECT results_eq($$SELECT plan_id, time_zone FROM analytics.subject_at('tk', '2026-03-10 23:29:59.999999+00')$$,
  $$VALUES ('pro', 'Asia/Tokyo')$$, 'a microsecond before ends_at: the plan');
SELECT results_eq($$SELECT plan_id, time_zone FROM analytics.subject_at('tk', '2026-03-10 23:30+00')$$,
  $$VALUES ('free', 'Asia/Tokyo')$$, 'at ends_at: the default plan, in the user''s time zone');
SELECT results_eq($$SELECT plan_id, time_zone FROM analytics.subject_at('tk', '2026-02-28 00:00+00')$$,
  $$VALUES ('free', 'UTC')$$, 'before any subscription: the default plan in UTC');

SELECT analytics.record_chat_event('tk', 'gpt-4o', input_tokens => 10, occurred_at => '2026-03-10 23:29:59.999999+00') AS before_end \gset
SELECT analytics.record_chat_event('tk', 'gpt-4o', input_tokens => 10, occurred_at => '2026-03-10 23:30+00') AS at_end \gset
SELECT is((SELECT usage_date FROM analytics.chat_events WHERE id = :before_end), date '2026-03-11',
  'record_chat_event before ends_at: the Tokyo day');
SELECT is((SELECT usage_date FROM analytics.chat_events WHERE id = :at_end), date '2026-03-11',
  'record_chat_event at ends_at (gpt-4o, outside free''s list: recorded, not refused): still the Tokyo day');
SELECT results_eq($$SELECT plan_id, today, day_requests, month_start
                      FROM analytics.usage_snapshot('tk', '2026-03-10 23:30+00')$$,
  $$VALUES ('free', date '2026-03-11', 2::bigint, date '2026-03-01')$$,
  'the default plan''s limits apply at once to the local day and month, both requests in them');
SELECT results_eq($$SELECT day_resets_at FROM analytics.usage_snapshot('tk', '2026-03-10 23:30+00')$$,
  $$VALUES ('2026-03-11 15:00+00'::timestamptz)$$, 'and reset at the next Tokyo midnight');
SELECT is((SELECT count(*) FROM analytics.subject_at('tk', '2026-03-10 23:30+00') s,
                                analytics.usage_snapshot('tk', '2026-03-10 23:30+00') c
            WHERE s.plan_id = c.plan_id AND ('2026-03-10 23:30+00'::timestamptz AT TIME ZONE s.time_zone)::date = c.today),
  1::bigint, 'the public subject_at agrees with the C side after the end');

-- Around now: 'ke' ended exactly now, 'ki' ends a microsecond after now;
-- both in Kiritimati (UTC+14), whose midnight is never UTC's.
SELECT ok(analytics.subscribe('ke', 'pro', now() - interval '1 day', 'Pacific/Kiritimati', ends_at => now()) > 0
          AND analytics.subscribe('ki', 'pro', now() - interval '1 day', 'Pacific/Kiritimati',
                                  ends_at => now() + interval '1 microsecond') > 0, 'two subscriptions ending now');
SELECT results_eq($$SELECT plan_id FROM analytics.check_quota('ki')$$, $$VALUES ('pro')$$,
  'check_quota before ends_at: the plan');
SELECT results_eq($$SELECT plan_id FROM analytics.check_quota('ke')$$, $$VALUES ('free')$$,
  'check_quota at ends_at: the default plan');
SELECT results_eq($$SELECT resets_at, month_start FROM analytics.check_quota('ke')$$,
  $$SELECT (date_trunc('day', now() AT TIME ZONE 'Pacific/Kiritimati') + interval '1 day') AT TIME ZONE 'Pacific/Kiritimati',
           date_trunc('month', now() AT TIME ZONE 'Pacific/Kiritimati')::date$$,
  'its periods are the user''s Kiritimati day and month');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.check_quota('ke', 20000)$$,
  $$VALUES (false, 'max_tokens_per_request')$$, 'the default plan''s limits apply');
SELECT results_eq($$SELECT allowed FROM analytics.check_quota('ki', 20000)$$, $$VALUES (true)$$,
  'the plan''s until then');
SELECT results_eq($$SELECT allowed, status FROM analytics.start_request('ki', 'gpt-4o', 20000)$$,
  $$VALUES (true, 'pending')$$, 'start_request before ends_at: admitted under the plan');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('ke', 'gpt-4o-mini', 20000)$$,
  $$VALUES (false, 'max_tokens_per_request')$$, 'start_request at ends_at: the default plan''s limit');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('ke', 'gpt-4o', 10)$$,
  $$VALUES (false, 'model_not_allowed')$$, 'and the default plan''s models');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('ke', 'gpt-4o-mini', 10)$$,
  $$VALUES (true)$$, 'a request the default plan allows is admitted');
SELECT analytics.record_chat_event('ke', 'gpt-4o', input_tokens => 10) AS ke_now \gset
SELECT is((SELECT count(DISTINCT usage_date) FROM analytics.chat_events WHERE user_id = 'ke'), 1::bigint,
  'every event of the user after the end is in one day');
SELECT is((SELECT usage_date FROM analytics.chat_events WHERE id = :ke_now),
  (now() AT TIME ZONE 'Pacific/Kiritimati')::date, 'the Kiritimati day, not UTC''s');

-- The day's usage carries across the switch: a default plan of two a day.
INSERT INTO analytics.plans (plan_id, name, daily_request_limit) VALUES ('two', 'Two a day', 2);
SET LOCAL usage_analytics.default_plan = 'two';
SELECT ok(analytics.subscribe('dl', 'pro', now() - interval '1 day', 'America/Los_Angeles', ends_at => now()) > 0
          AND analytics.record_chat_event('dl', 'gpt-4o', occurred_at => now() - interval '1 microsecond') > 0
          AND analytics.record_chat_event('dl', 'gpt-4o', occurred_at => now() - interval '1 microsecond') > 0,
  'two requests under the plan, the microsecond before it ends');
SELECT results_eq($$SELECT s.allowed, s.limit_name, q.used FROM analytics.start_request('dl', 'gpt-4o') s,
                           analytics.check_quota('dl') q$$,
  $$VALUES (false, 'daily_requests', 2::numeric)$$, 'at the end, the new plan''s daily limit counts the day''s requests');
RESET usage_analytics.default_plan;

-- A trial is a subscription with ends_at; converting it is subscribing at
-- its end (or before: subscribe ends the current subscription then).
SELECT ok(analytics.subscribe('tr', 'pro', now() - interval '13 days', 'Europe/Paris', ends_at => now() + interval '1 day') > 0,
  'a trial of pro, one day left');
SELECT results_eq($$SELECT plan_id FROM analytics.check_quota('tr')$$, $$VALUES ('pro')$$, 'on trial: pro');
SELECT ok(analytics.subscribe('tr', 'enterprise', now() + interval '1 day', 'Europe/Paris') > 0, 'converted at its end');
SELECT results_eq($$SELECT s.plan_id FROM (VALUES (interval '1 day' - interval '1 microsecond'), (interval '1 day'), (interval '30 days')) v(d),
                           analytics.subject_at('tr', now() + v.d) s$$,
  $$VALUES ('pro'), ('enterprise'), ('enterprise')$$, 'the trial until its end, then the paid plan without a gap');

SELECT * FROM finish();
ROLLBACK;
