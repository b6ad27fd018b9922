\set ECHO none
\i test/setup.psql
SELECT plan(65);

-- The admission rules of a model (src/rules.c): the plan's model
-- allow-list, models and providers switched off, provider rate limits.
-- start_request refuses (logged as rejected, nothing reserved) and
-- check_quota(user_id, tokens, model, provider) reports the same.

-- ---------------------------------------------------------------------
-- The plan's allow-list: the shipped free plan (the default) lists
-- gpt-4o-mini and gemini-2.0-flash.
-- ---------------------------------------------------------------------
SELECT results_eq($$SELECT allowed, status, limit_name, used, limit_value, remaining, usage_percent, resets_at
                      FROM analytics.check_quota('f', 0, 'gpt-4o')$$,
  $$VALUES (false, 'limit_reached', 'model_not_allowed', NULL::numeric, NULL::numeric, NULL::numeric, NULL::numeric, NULL::timestamptz)$$,
  'check_quota with a model outside the free plan''s list: not allowed');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.check_quota('f', 0, 'gpt-4o-mini')$$,
  $$VALUES (true, 'daily_requests')$$, 'a listed model is allowed');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.check_quota('f', 0)$$,
  $$VALUES (true, 'daily_requests')$$, 'without a model, check_quota answers as before');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.check_quota('f', 0, NULL)$$,
  $$VALUES (true, 'daily_requests')$$, 'and with a NULL model');
SELECT results_eq($$SELECT allowed, status, limit_name, remaining, resets_at FROM analytics.start_request('f', 'gpt-4o', 10, 'fr1')$$,
  $$VALUES (false, 'rejected', 'model_not_allowed', NULL::numeric, NULL::timestamptz)$$,
  'start_request refuses a model outside the list');
SELECT results_eq($$SELECT status, error_code, error_message, reserved_tokens FROM analytics.chat_events WHERE request_id = 'fr1'$$,
  $$VALUES ('rejected', 'model_not_allowed', 'quota exceeded: model_not_allowed', NULL::integer)$$,
  'logged as a rejection, nothing reserved');
SELECT results_eq($$SELECT sum(rejected), sum(pending_requests), sum(pending_tokens) FROM analytics.usage_counters WHERE user_id = 'f'$$,
  $$VALUES (1::numeric, 0::numeric, 0::numeric)$$, 'counted as a rejection');
SELECT results_eq($$SELECT allowed, status, limit_name FROM analytics.start_request('f', 'gpt-4o', 10, 'fr1')$$,
  $$VALUES (false, 'rejected', 'model_not_allowed')$$, 'a retry returns the same refusal');
-- Names match as sent or through the price book's resolution.
SELECT results_eq($$SELECT m, (SELECT allowed FROM analytics.check_quota('f', 0, m)) FROM (VALUES
      ('gpt-4o-mini'), ('gpt-4o-mini-2024-07-18'), ('openai/gpt-4o-mini'), ('openrouter/openai/gpt-4o-mini-2024-07-18'),
      ('gemini-2.0-flash'), ('google/gemini-2.0-flash'),
      ('gpt-4o'), ('gpt-4o-2024-08-06'), ('openai/gpt-4o'), ('gpt-4o-mini-realtime'), ('GPT-4o-mini'), ('claude-sonnet-4')) v(m)$$,
  $$VALUES ('gpt-4o-mini', true), ('gpt-4o-mini-2024-07-18', true), ('openai/gpt-4o-mini', true),
           ('openrouter/openai/gpt-4o-mini-2024-07-18', true), ('gemini-2.0-flash', true), ('google/gemini-2.0-flash', true),
           ('gpt-4o', false), ('gpt-4o-2024-08-06', false), ('openai/gpt-4o', false), ('gpt-4o-mini-realtime', false),
           ('GPT-4o-mini', false), ('claude-sonnet-4', false)$$,
  'a listed model under its dated and gateway names; no prefix match, no other model');
INSERT INTO analytics.model_aliases (alias, provider, model) VALUES ('mini', 'openai', 'gpt-4o-mini'), ('big', 'openai', 'gpt-4o');
SELECT results_eq($$SELECT (SELECT allowed FROM analytics.check_quota('f', 0, 'mini')), (SELECT allowed FROM analytics.check_quota('f', 0, 'big'))$$,
  $$VALUES (true, false)$$, 'an alias is the model it prices as');
SELECT results_eq($$SELECT allowed, status FROM analytics.start_request('f', 'gpt-4o-mini-2024-07-18', 10)$$,
  $$VALUES (true, 'pending')$$, 'start_request admits a listed model by its dated name');
SELECT ok(analytics.record_chat_event('f', 'gpt-4o', input_tokens => 10) > 0,
  'record_chat_event logs any model: what happened is not refused');
-- Other shapes of features->'models'.
INSERT INTO analytics.plans (plan_id, name, enforcement, features) VALUES
  ('one_model', 'One model', 'hard', '{"models": "gpt-4.1"}'),
  ('none', 'No model', 'hard', '{"models": []}'),
  ('odd', 'Odd list', 'hard', '{"models": 5}'),
  ('any', 'Any model', 'hard', '{}'),
  ('all', 'All models', 'hard', '{"models": "all"}'),
  ('nul', 'Null list', 'hard', '{"models": null}'),
  ('soft_list', 'Soft list', 'soft', '{"models": ["gpt-4o-mini"]}');
SELECT ok(analytics.subscribe('p_' || p, p) > 0, 'subscribe to ' || p)
  FROM unnest(ARRAY['one_model', 'none', 'odd', 'any', 'all', 'nul', 'soft_list', 'pro']) p;
SELECT results_eq($$SELECT p, (SELECT allowed FROM analytics.check_quota('p_' || p, 0, 'gpt-4.1')),
                           (SELECT allowed FROM analytics.check_quota('p_' || p, 0, 'gpt-4o'))
                      FROM unnest(ARRAY['one_model', 'none', 'odd', 'any', 'all', 'nul', 'pro']) p$$,
  $$VALUES ('one_model', true, false), ('none', false, false), ('odd', false, false), ('any', true, true),
           ('all', true, true), ('nul', true, true), ('pro', true, true)$$,
  'a string is one model, [] none, another value none; absent, null and "all" any');
SELECT results_eq($$SELECT allowed, status, limit_name FROM analytics.check_quota('p_soft_list', 0, 'gpt-4o')$$,
  $$VALUES (true, 'limit_reached', 'model_not_allowed')$$, 'a soft plan allows and reports');
SELECT results_eq($$SELECT allowed, status, limit_name, remaining FROM analytics.start_request('p_soft_list', 'gpt-4o')$$,
  $$VALUES (true, 'pending', 'model_not_allowed', NULL::numeric)$$, 'and admits, naming the rule');

-- ---------------------------------------------------------------------
-- Models and providers switched off (provider_limits.active).
-- ---------------------------------------------------------------------
SELECT event_id AS before_off FROM analytics.start_request('p_pro', 'gpt-4o', 100) \gset
INSERT INTO analytics.provider_limits (provider, model, active) VALUES ('openai', 'gpt-4o', false);
SELECT results_eq($$SELECT allowed, status, limit_name, remaining FROM analytics.start_request('p_pro', 'gpt-4o', 10, 'off1')$$,
  $$VALUES (false, 'rejected', 'model_inactive', NULL::numeric)$$, 'an inactive model is refused');
SELECT results_eq($$SELECT status, error_code FROM analytics.chat_events WHERE request_id = 'off1'$$,
  $$VALUES ('rejected', 'model_inactive')$$, 'and logged as rejected');
SELECT results_eq($$SELECT allowed, status FROM analytics.start_request('p_pro', 'openai/gpt-4o-2024-08-06')$$,
  $$VALUES (false, 'rejected')$$, 'under any name that prices as it');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.check_quota('p_pro', 0, 'big')$$,
  $$VALUES (false, 'model_inactive')$$, 'check_quota reports it');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('p_pro', 'gpt-4o-mini')$$, $$VALUES (true)$$,
  'another model of the provider is admitted');
SELECT results_eq('SELECT status_out, cost_out FROM analytics.complete_request(' || :before_off || ', input_tokens => 1000000)',
  $$VALUES ('completed', 2.5::numeric)$$, 'a request started before the switch settles at its price');
SELECT analytics.record_chat_event('p_pro', 'gpt-4o', input_tokens => 1000000, output_tokens => 100000) AS off_ev \gset
SELECT results_eq('SELECT cost, cost_source FROM analytics.chat_events WHERE id = ' || :off_ev,
  $$VALUES (3.5::numeric, 'computed')$$, 'record_chat_event of an inactive model prices from the price book');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.check_quota('f', 0, 'gpt-4o')$$,
  $$VALUES (false, 'model_inactive')$$, 'the switch is reported before the plan''s list');
INSERT INTO analytics.provider_limits (provider, active) VALUES ('anthropic', false);
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('p_pro', 'claude-sonnet-4')$$,
  $$VALUES (false, 'provider_inactive')$$, 'every model of an inactive provider is refused');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('p_pro', 'claude-next', provider => 'anthropic')$$,
  $$VALUES (false, 'provider_inactive')$$, 'also one the price book lacks, from that provider');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('p_pro', 'claude-next')$$, $$VALUES (true)$$,
  'a model the price book lacks, without provider: no provider rule applies');
UPDATE analytics.provider_limits SET active = true;
SELECT results_eq($$SELECT allowed FROM analytics.start_request('p_pro', 'gpt-4o')$$, $$VALUES (true)$$,
  'switched on again: admitted');
-- A name priced under two providers needs provider at admission.
INSERT INTO analytics.model_prices (provider, model, effective_from, input_per_mtok, cached_input_per_mtok,
                                    cache_write_per_mtok, output_per_mtok)
VALUES ('azure', 'gpt-4o', '2024-01-01', 2.5, 1.25, 2.5, 10);
SELECT throws_ok($$SELECT * FROM analytics.start_request('p_pro', 'gpt-4o')$$, '22023',
  'model "gpt-4o" is priced under more than one provider', 'start_request: an ambiguous model without provider');
SELECT throws_ok($$SELECT * FROM analytics.check_quota('p_pro', 0, 'gpt-4o')$$, '22023',
  'model "gpt-4o" is priced under more than one provider', 'check_quota too');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('p_pro', 'gpt-4o', provider => 'azure')$$, $$VALUES (true)$$,
  'with provider: admitted');
DELETE FROM analytics.model_prices WHERE provider = 'azure';
SELECT throws_ok($$SELECT * FROM analytics.check_quota('p_pro', 0, repeat('m', 129))$$, '22001', NULL,
  'check_quota: a model name over 128 bytes');
SELECT throws_ok($$SELECT * FROM analytics.check_quota('p_pro', 0, '')$$, '22023', NULL,
  'check_quota: an empty model name');

-- ---------------------------------------------------------------------
-- Provider rate limits: fixed UTC minutes and days, across all users.
-- ---------------------------------------------------------------------
SELECT ok(analytics.subscribe('r1', 'pro') > 0 AND analytics.subscribe('r2', 'pro') > 0, 'two pro users');
INSERT INTO analytics.provider_limits (provider, model, requests_per_minute, requests_per_day) VALUES
  ('google', '*', 2, 3),
  ('openai', 'gpt-4.1', NULL, 1);
SELECT results_eq($$SELECT allowed FROM analytics.start_request('r1', 'gemini-2.0-flash')$$, $$VALUES (true)$$, 'first of the minute');
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
                   WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.objsubid = 1
                     AND ((l.classid::bigint << 32) | l.objid::bigint)
                         = hashtextextended('usage_analytics.rate:' || 'google' || '/' || '*', 0)),
  'admission holds the documented lock on the provider''s limit to commit');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('r2', 'google/gemini-2.0-flash-001', provider => 'google', estimated_tokens => 5)$$,
  $$VALUES (true)$$, 'second, another user: the provider''s limit is across users');
SELECT results_eq($$SELECT allowed, status, limit_name, remaining, resets_at FROM analytics.start_request('r1', 'gemini-2.0-flash', 10, 'rl3')$$,
  $$VALUES (false, 'rejected', 'provider_requests_per_minute', 0::numeric,
            date_trunc('minute', now()) + interval '1 minute')$$,
  'third in the minute: refused until the next UTC minute');
SELECT results_eq($$SELECT status, error_code, reserved_tokens FROM analytics.chat_events WHERE request_id = 'rl3'$$,
  $$VALUES ('rejected', 'provider_requests_per_minute', NULL::integer)$$, 'logged as rejected, nothing reserved');
SELECT results_eq($$SELECT sum(pending_requests), sum(rejected) FROM analytics.usage_counters WHERE user_id = 'r1'$$,
  $$VALUES (1::numeric, 1::numeric)$$, 'the user''s counters: one reservation, one rejection');
SELECT results_eq($$SELECT allowed, status, limit_name, used, limit_value, remaining, usage_percent, resets_at
                      FROM analytics.check_quota('r2', 0, 'gemini-2.0-flash')$$,
  $$VALUES (false, 'limit_reached', 'provider_requests_per_minute', 2::numeric, 2::numeric, 0::numeric, 100::numeric,
            date_trunc('minute', now()) + interval '1 minute')$$,
  'check_quota reports the provider''s limit with its figures');
SELECT results_eq($$SELECT period, period_start, sum(requests) FROM analytics.provider_counters
                    WHERE provider = 'google' AND model = '*' GROUP BY 1, 2 ORDER BY 1$$,
  $$VALUES ('day', date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 2::numeric),
           ('minute', date_trunc('minute', now()), 2::numeric)$$,
  'admissions counted in the UTC minute and day; the refusal not');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('r1', 'gpt-4o-mini')$$, $$VALUES (true)$$,
  'other providers are not limited');
-- The day window: a minute later in the same UTC day (a counter of the past minute).
UPDATE analytics.provider_counters SET period_start = period_start - interval '1 minute'
 WHERE provider = 'google' AND period = 'minute' AND period_start = date_trunc('minute', now());
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('r2', 'gemini-2.0-flash')$$,
  $$VALUES (true, 'daily_requests')$$, 'a new minute: admitted (third of the day)');
UPDATE analytics.provider_counters SET period_start = period_start - interval '2 minutes'
 WHERE provider = 'google' AND period = 'minute' AND period_start = date_trunc('minute', now());
SELECT results_eq($$SELECT allowed, limit_name, remaining, resets_at FROM analytics.start_request('r2', 'gemini-2.0-flash')$$,
  $$VALUES (false, 'provider_requests_per_day', 0::numeric,
            (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC')$$,
  'the fourth of the UTC day: refused until the next UTC midnight');
-- A model's limit.
SELECT results_eq($$SELECT allowed FROM analytics.start_request('r1', 'gpt-4.1-2025-04-14')$$, $$VALUES (true)$$,
  'a model''s limit: the first of the day, by a dated name');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('r2', 'gpt-4.1')$$,
  $$VALUES (false, 'model_requests_per_day')$$, 'the second: refused');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('r2', 'gpt-4o')$$, $$VALUES (true)$$,
  'another model of the provider is not');
-- The user's limits come first: nothing counted against the provider then.
UPDATE analytics.provider_limits SET requests_per_day = NULL, requests_per_minute = 100 WHERE provider = 'google';
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('r1', 'gemini-2.0-flash', 1000000)$$,
  $$VALUES (false, 'max_tokens_per_request')$$, 'a request the plan refuses');
SELECT is((SELECT sum(requests) FROM analytics.provider_counters WHERE provider = 'google' AND period = 'minute'
             AND period_start = date_trunc('minute', now())), NULL::numeric,
  'is not counted against the provider');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('f', 'gemini-2.0-flash')$$,
  $$VALUES (true, 'daily_requests')$$, 'a window without a limit is not counted');
SELECT is((SELECT count(*) FROM analytics.provider_counters WHERE provider = 'google' AND period = 'day'
             AND period_start = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
             AND requests > 3), 0::bigint, 'the day window no longer counts (no limit)');
UPDATE analytics.provider_limits SET requests_per_minute = 0 WHERE provider = 'google';
SELECT results_eq($$SELECT allowed, limit_name, remaining FROM analytics.start_request('r1', 'gemini-2.0-flash')$$,
  $$VALUES (false, 'provider_requests_per_minute', 0::numeric)$$, 'a limit of 0 refuses everything');
-- Limits are checked values; old windows are deleted by expire_reservations.
SELECT throws_ok($$INSERT INTO analytics.provider_limits (provider, requests_per_minute) VALUES ('x', -1)$$, '23514', NULL,
  'a negative rate limit is refused');
SELECT throws_ok($$INSERT INTO analytics.provider_limits (provider, model) VALUES ('', 'm')$$, '23514', NULL,
  'an empty provider is refused');
INSERT INTO analytics.provider_counters VALUES ('google', '*', 'minute', now() - interval '3 days', 0, 5);
SELECT analytics.expire_reservations() AS expired \gset
SELECT ok(NOT EXISTS (SELECT 1 FROM analytics.provider_counters WHERE period_start < now() - interval '2 days')
          AND EXISTS (SELECT 1 FROM analytics.provider_counters WHERE period_start >= date_trunc('minute', now()) - interval '5 minutes'),
  'expire_reservations deletes windows older than two days, keeps the current ones');

-- check_quota's model form: end users may ask about themselves only.
CREATE ROLE ua_ar_user;
SELECT analytics.grant_end_user('ua_ar_user') \gset
SET LOCAL usage_analytics.user_id = 'f';
SELECT is(pg_temp.as_role('ua_ar_user', $$SELECT limit_name FROM analytics.check_quota('f', 0, 'gpt-4o-2024-08-06')$$),
  'model_not_allowed', 'an end user asks about a model for itself');
SELECT is(pg_temp.as_role('ua_ar_user', $$SELECT limit_name FROM analytics.check_quota('r1', 0, 'gpt-4o')$$),
  'ERROR 42501', 'not for another user');

SELECT * FROM finish();
ROLLBACK;
