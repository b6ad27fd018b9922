\set ECHO none
-- Read side of issue 13: when a monthly limit was reached (past and
-- current months), the per-month breakdown by model and provider and the
-- most used model with the unfolded tail, the recent-activity window as a
-- parameter, the month-by-model and users-by-plan reports, and alert
-- rules.  The fold only folds committed transactions: this file commits
-- as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(61);

CREATE ROLE ua_rs_user;
CREATE ROLE ua_rs_app;
SELECT analytics.grant_end_user('ua_rs_user') \gset
SELECT analytics.grant_app_backend('ua_rs_app') \gset
SELECT analytics.ensure_partitions(0) \gset
SELECT date_trunc('month', now()) - interval '1 month' AS prev, date_trunc('month', now()) AS cur \gset

/* ------------------------------------------------------------------------
 * 1. user_monthly_usage.limit_reached / limit_reached_at
 * ------------------------------------------------------------------------ */
INSERT INTO analytics.plans (plan_id, name, monthly_request_limit, monthly_token_limit, monthly_cost_limit, enforcement)
VALUES ('rs_small', 'small', 5, 100000, 1000, 'hard'),
       ('rs_big', 'big', 100, 1000, 1000, 'hard');
SELECT analytics.subscribe('lr', 'rs_small', :'prev'::timestamptz - interval '40 days') \gset
-- Last month: eight requests recorded in reverse order; the fifth by
-- occurred_at reached the limit of 5.
SELECT count(analytics.record_chat_event('lr', 'gpt-4o', input_tokens => 10,
         occurred_at => :'prev'::timestamptz + (9 - i) * interval '1 hour'))
  FROM generate_series(1, 8) i \gset
SELECT results_eq($$SELECT limit_reached, limit_reached_at, limit_name FROM analytics.user_monthly_usage
                     WHERE user_id = 'lr' AND month = date_trunc('month', now() - interval '1 month')::date$$,
  format('VALUES (true, %L::timestamptz + interval ''5 hours'', ''monthly_requests''::text)', :'prev'),
  'a past month: the occurred_at of the request that reached the monthly request limit');
-- This month: three requests, below the limit.
SELECT count(analytics.record_chat_event('lr', 'gpt-4o', input_tokens => 10,
         occurred_at => greatest(:'cur'::timestamptz, now() - (60 - i) * interval '1 second')))
  FROM generate_series(1, 3) i \gset
SELECT results_eq($$SELECT limit_reached, limit_reached_at, limit_name FROM analytics.user_monthly_usage
                     WHERE user_id = 'lr' AND month = date_trunc('month', now())::date$$,
  $$VALUES (false, NULL::timestamptz, NULL::text)$$, 'the current month, below its limits: not reached');
SELECT count(analytics.record_chat_event('lr', 'gpt-4o', input_tokens => 10,
         occurred_at => greatest(:'cur'::timestamptz, now() - (30 - i) * interval '1 second')))
  FROM generate_series(1, 3) i \gset
SELECT results_eq($$SELECT limit_reached, limit_reached_at, limit_name FROM analytics.user_monthly_usage
                     WHERE user_id = 'lr' AND month = date_trunc('month', now())::date$$,
  $$SELECT true, e.occurred_at, 'monthly_requests'::text FROM analytics.chat_events e
     WHERE e.user_id = 'lr' AND e.occurred_at >= date_trunc('month', now())
     ORDER BY e.occurred_at, e.id OFFSET 4 LIMIT 1$$,
  'the current month: reached at its fifth request');
-- A voided request still counts as a request, with zero tokens and cost.
SELECT analytics.void_event(min(id), 'refund') IS NOT NULL AS voided FROM analytics.chat_events
 WHERE user_id = 'lr' AND occurred_at < date_trunc('month', now()) \gset
SELECT is((SELECT limit_reached_at FROM analytics.user_monthly_usage
            WHERE user_id = 'lr' AND month = date_trunc('month', now() - interval '1 month')::date),
  :'prev'::timestamptz + interval '5 hours', 'a voided request still counts as a request');

-- Tokens, and the plan in force at each event: big (100 requests, 1,000
-- tokens) until hour 10 of last month, then small (5 requests).
SELECT analytics.subscribe('lp', 'rs_big', :'prev'::timestamptz - interval '40 days') \gset
SELECT analytics.subscribe('lp', 'rs_small', :'prev'::timestamptz + interval '10 hours') \gset
SELECT count(analytics.record_chat_event('lp', 'gpt-4o', input_tokens => 150,
         occurred_at => :'prev'::timestamptz + i * interval '1 hour'))
  FROM generate_series(1, 4) i \gset
SELECT is((SELECT limit_name FROM analytics.user_monthly_usage WHERE user_id = 'lp'), NULL,
  'four requests of 150 tokens reach neither plan''s limits');
SELECT count(analytics.record_chat_event('lp', 'gpt-4o', input_tokens => 150,
         occurred_at => :'prev'::timestamptz + i * interval '1 hour'))
  FROM generate_series(11, 13) i \gset
SELECT results_eq($$SELECT limit_reached_at, limit_name FROM analytics.user_monthly_usage WHERE user_id = 'lp'$$,
  format('VALUES (%L::timestamptz + interval ''11 hours'', ''monthly_requests''::text)', :'prev'),
  'the limits of the plan in force at each event: small''s 5 requests at hour 11, not big''s');
SELECT analytics.subscribe('lt', 'rs_big', :'prev'::timestamptz - interval '40 days') \gset
SELECT count(analytics.record_chat_event('lt', 'gpt-4o', input_tokens => 300,
         occurred_at => :'prev'::timestamptz + i * interval '1 hour'))
  FROM generate_series(1, 5) i \gset
SELECT results_eq($$SELECT limit_reached_at, limit_name FROM analytics.user_monthly_usage WHERE user_id = 'lt'$$,
  format('VALUES (%L::timestamptz + interval ''4 hours'', ''monthly_tokens''::text)', :'prev'),
  'the monthly token limit: reached at the fourth request of 300 tokens');
-- Users on the default plan (free: 1,000 requests a month).
SELECT count(analytics.record_chat_event('lfree', 'gpt-4o-mini', input_tokens => 1)) \gset
SELECT is((SELECT limit_reached FROM analytics.user_monthly_usage WHERE user_id = 'lfree'), false,
  'a user on the default plan below its limits');
-- An end user reads their own months, limits included.
SET usage_analytics.user_id = 'lr';
SELECT is(pg_temp.as_role('ua_rs_user', $$SELECT string_agg(user_id || ':' || limit_reached, ',' ORDER BY month)
                                             FROM analytics.user_monthly_usage$$),
  'lr:true,lr:true', 'an end user reads their own months with their limits');
RESET usage_analytics.user_id;
-- Months that may hold events retention removed: unknown.
UPDATE analytics.fold_state SET retained_from = date_trunc('month', now());
SELECT results_eq($$SELECT month = date_trunc('month', now())::date, limit_reached IS NULL, limit_reached_at IS NULL
                      FROM analytics.user_monthly_usage WHERE user_id = 'lr' ORDER BY month$$,
  $$VALUES (false, true, true), (true, false, false)$$,
  'before the retention horizon: NULL (unknown); after it: answered');
UPDATE analytics.fold_state SET retained_from = NULL;
SELECT is(analytics.user_month_limit('nobody', current_date), ROW(false, NULL::timestamptz, NULL::text),
  'user_month_limit of a user without usage');

/* ------------------------------------------------------------------------
 * 2. Monthly breakdown by model and provider; most used model
 * ------------------------------------------------------------------------ */
CREATE VIEW pg_temp.raw_monthly AS
SELECT e.user_id, date_trunc('month', e.usage_date::timestamp)::date AS month, e.model, e.provider,
       count(*) AS request_count, count(*) FILTER (WHERE e.status = 'failed') AS failed_count,
       sum(e.input_tokens)::bigint AS input_tokens, sum(e.cached_input_tokens)::bigint AS cached_input_tokens,
       sum(e.cache_write_tokens)::bigint AS cache_write_tokens, sum(e.output_tokens)::bigint AS output_tokens,
       sum(e.reasoning_tokens)::bigint AS reasoning_tokens,
       sum(e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens)::bigint AS total_tokens,
       sum(e.cost) AS total_cost, max(e.occurred_at) AS last_used
  FROM analytics.chat_events e WHERE e.status IN ('completed', 'failed')
 GROUP BY 1, 2, 3, 4;
SELECT count(analytics.record_chat_event('mb', m, input_tokens => 100 * i, cached_input_tokens => 10 * i,
         cache_write_tokens => i, output_tokens => 20 * i, reasoning_tokens => 5 * i,
         status => CASE WHEN i % 4 = 0 THEN 'failed' ELSE 'completed' END,
         occurred_at => CASE WHEN i % 2 = 0 THEN :'prev'::timestamptz + i * interval '1 hour'
                             ELSE greatest(:'cur'::timestamptz, now() - i * interval '1 second') END))
  FROM generate_series(1, 6) i, unnest(ARRAY['gpt-4o', 'claude-sonnet-4']) m \gset
SELECT set_eq($$SELECT user_id, month, model, provider, request_count, failed_count, input_tokens, cached_input_tokens,
                       cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, total_cost, last_used
                  FROM analytics.user_monthly_model_usage WHERE user_id = 'mb'$$,
  $$SELECT * FROM pg_temp.raw_monthly WHERE user_id = 'mb'$$,
  'the monthly breakdown before any fold: the unfolded tail');
SELECT cmp_ok(analytics.fold(), '>', 0::bigint, 'fold') ;
SELECT count(analytics.record_chat_event('mb', 'gpt-4o-mini', input_tokens => 7,
         occurred_at => greatest(:'cur'::timestamptz, now() - i * interval '1 second')))
  FROM generate_series(1, 9) i \gset
SELECT count(analytics.record_chat_event('mb', 'gpt-4o', input_tokens => 7,
         occurred_at => :'prev'::timestamptz + interval '3 days'))
  FROM generate_series(1, 2) i \gset
SELECT set_eq($$SELECT user_id, month, model, provider, request_count, failed_count, input_tokens, cached_input_tokens,
                       cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, total_cost, last_used
                  FROM analytics.user_monthly_model_usage WHERE user_id = 'mb'$$,
  $$SELECT * FROM pg_temp.raw_monthly WHERE user_id = 'mb'$$,
  'after a fold and more writes: folded months plus the tail, read-your-writes');
SELECT results_eq($$SELECT year, month_number FROM analytics.user_monthly_model_usage
                     WHERE user_id = 'mb' AND model = 'gpt-4o-mini'$$,
  $$SELECT EXTRACT(year FROM now())::integer, EXTRACT(month FROM now())::integer$$, 'year and month number');
-- gpt-4o and claude-sonnet-4 had 6 folded requests each; gpt-4o-mini's 9
-- are not folded yet.
SELECT results_eq($$SELECT most_used_model, most_used_provider FROM analytics.user_request_analytics WHERE user_id = 'mb'$$,
  $$VALUES ('gpt-4o-mini'::text, 'openai'::text)$$, 'most used model right before a fold (the unfolded tail counts)');
SELECT count(analytics.record_chat_event('mb', 'claude-sonnet-4', input_tokens => 1)) FROM generate_series(1, 12) \gset
SELECT results_eq($$SELECT most_used_model, most_used_provider FROM analytics.user_request_analytics WHERE user_id = 'mb'$$,
  $$VALUES ('claude-sonnet-4'::text, 'anthropic'::text)$$, 'and the most used provider');
SELECT cmp_ok(analytics.fold(), '>', 0::bigint, 'fold');
SELECT set_eq($$SELECT user_id, month, model, provider, request_count, failed_count, input_tokens, cached_input_tokens,
                       cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, total_cost, last_used
                  FROM analytics.user_monthly_model_usage$$,
  $$SELECT * FROM pg_temp.raw_monthly$$, 'every user''s months after the fold equal the raw log');
SET usage_analytics.user_id = 'mb';
SELECT is(pg_temp.as_role('ua_rs_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.user_monthly_model_usage$$),
  'mb', 'an end user reads only their own breakdown');
RESET usage_analytics.user_id;

/* ------------------------------------------------------------------------
 * 3. user_recent_activity(days)
 * ------------------------------------------------------------------------ */
SELECT count(analytics.record_chat_event('ra', 'gpt-4o', input_tokens => 1, occurred_at => now() - d * interval '1 day' + interval '1 minute'))
  FROM unnest(ARRAY[1, 3, 10, 20]) d \gset
SELECT count(analytics.record_chat_event('ra2', 'gpt-4o', input_tokens => 1)) \gset
SELECT is((SELECT count(*) FROM analytics.user_recent_activity() WHERE user_id = 'ra'), 2::bigint, '7 days by default');
SELECT is((SELECT count(*) FROM analytics.user_recent_activity(30) WHERE user_id = 'ra'), 4::bigint, '30 days');
SELECT is((SELECT count(*) FROM analytics.user_recent_activity(days => 2) WHERE user_id = 'ra'), 1::bigint, 'named argument');
SELECT set_eq($$SELECT * FROM analytics.v_user_recent_activity$$, $$SELECT * FROM analytics.user_recent_activity(7)$$,
  'the view is the function with its default');
SELECT throws_ok($$SELECT * FROM analytics.user_recent_activity(0)$$, '22023', 'days must be between 1 and 3660', 'days 0');
SELECT throws_ok($$SELECT * FROM analytics.user_recent_activity(NULL)$$, '22023', NULL, 'days NULL');
SELECT throws_ok($$SELECT * FROM analytics.user_recent_activity(3661)$$, '22023', NULL, 'days too many');
SET usage_analytics.user_id = 'ra';
SELECT is(pg_temp.as_role('ua_rs_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.user_recent_activity(30)$$),
  'ra', 'row-level security decides what the caller sees: an end user, their own');
SELECT is(pg_temp.as_role('ua_rs_user', $$SELECT count(*)::text FROM analytics.v_user_recent_activity$$), '2',
  'through the view as well');
RESET usage_analytics.user_id;
SELECT is(pg_temp.as_role('ua_rs_app', $$SELECT count(DISTINCT user_id)::text FROM analytics.user_recent_activity(30) WHERE user_id IN ('ra', 'ra2')$$),
  '2', 'an app backend: every user');
SELECT is((SELECT prosecdef FROM pg_proc WHERE oid = 'analytics.user_recent_activity(integer)'::regprocedure), false,
  'user_recent_activity is SECURITY INVOKER');

/* ------------------------------------------------------------------------
 * 4. Month by model (system-wide, from rollups), users by plan
 * ------------------------------------------------------------------------ */
SELECT cmp_ok(analytics.fold(), '>', 0::bigint, 'fold');
SELECT set_eq($$SELECT month, model, provider, request_count, failed_count, total_tokens, total_cost FROM analytics.model_monthly_usage$$,
  $$SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month, model, provider, count(*) AS n,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens)::bigint AS tokens, sum(cost) AS cost
      FROM analytics.chat_events WHERE status IN ('completed', 'failed') GROUP BY 1, 2, 3$$,
  'month by model equals the raw log after a fold');
SELECT is((SELECT avg_tokens FROM analytics.model_monthly_usage WHERE model = 'gpt-4o-mini'),
  (SELECT (sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) / count(*))::bigint
     FROM analytics.chat_events WHERE model = 'gpt-4o-mini'), 'average tokens per request');
SELECT analytics.subscribe('pro_user', 'pro') \gset
SELECT results_eq($$SELECT plan_id, is_default_plan, user_count, subscribed_users, default_plan_users
                      FROM analytics.users_by_plan ORDER BY plan_id$$,
  $$VALUES ('enterprise', false, 0::bigint, 0::bigint, 0::bigint),
           ('free', true, 4, 0, 4),
           ('pro', false, 1, 1, 0),
           ('rs_big', false, 1, 1, 0),
           ('rs_small', false, 2, 2, 0)$$,
  'users by plan: subscribers, and users on the default plan without a subscription (mb, lfree, ra, ra2)');
SELECT is(pg_temp.as_role('ua_rs_user', $$SELECT count(*)::text FROM analytics.users_by_plan$$), 'ERROR 42501',
  'users_by_plan: not for end users');
SELECT is(pg_temp.as_role('ua_rs_app', $$SELECT sum(user_count)::text FROM analytics.users_by_plan$$), '8',
  'app backends read users by plan');

/* ------------------------------------------------------------------------
 * 5. Alert rules
 * ------------------------------------------------------------------------ */
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold) VALUES ('x', 'cost_per_week', 1)$$,
  '22023', 'unknown alert metric "cost_per_week"', 'unknown metric');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold) VALUES ('x', 'cost_per_day', 0)$$,
  '22023', 'alert threshold must be a positive finite number', 'threshold 0');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold) VALUES ('x', 'cost_per_day', 'NaN')$$,
  '22023', NULL, 'threshold NaN');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold, error_window) VALUES ('x', 'error_rate', 1.5, '1 hour')$$,
  '22023', 'an error_rate threshold is a share of requests, at most 1', 'error rate above 1');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold) VALUES ('x', 'error_rate', 0.1)$$,
  '22023', 'an error_rate rule needs an error_window', 'error rate without a window');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold, error_window) VALUES ('x', 'cost_per_day', 1, '1 hour')$$,
  '22023', 'error_window applies to error_rate rules only', 'a window on another metric');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold, error_window) VALUES ('x', 'error_rate', 0.1, '1 month')$$,
  '22023', 'error_window must be between 1 minute and 1 day', 'a window of a month');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold, error_window) VALUES ('x', 'error_rate', 0.1, '10 seconds')$$,
  '22023', 'error_window must be between 1 minute and 1 day', 'a window under a minute');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold, error_window, min_requests) VALUES ('x', 'error_rate', 0.1, '1 hour', 0)$$,
  '22023', 'min_requests must be at least 1', 'min_requests 0');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, user_id, metric, threshold) VALUES ('x', '', 'cost_per_day', 1)$$,
  '22023', 'user_id must not be empty (NULL: system-wide)', 'empty user id');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold) VALUES ('', 'cost_per_day', 1)$$,
  '22023', 'alert rule name must not be empty', 'empty name');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric, threshold) VALUES (repeat('n', 129), 'cost_per_day', 1)$$,
  '22001', 'alert rule name is longer than 128 bytes', 'name too long');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, user_id, metric, threshold) VALUES ('x', repeat('u', 257), 'cost_per_day', 1)$$,
  '22001', 'user_id is longer than 256 bytes', 'user id too long');
SELECT throws_ok($$INSERT INTO analytics.alert_rules (name, metric) VALUES ('x', 'cost_per_day')$$,
  '23502', NULL, 'a rule needs a threshold');

-- al: 3 requests of 2,000 tokens today, cost 1.50 each, one failed.
SELECT count(analytics.record_chat_event('al', 'gpt-4o', input_tokens => 2000, cost => 1.5,
         status => CASE WHEN i = 1 THEN 'failed' ELSE 'completed' END))
  FROM generate_series(1, 3) i \gset
INSERT INTO analytics.alert_rules (name, user_id, metric, threshold) VALUES
  ('al cost', 'al', 'cost_per_day', 4),
  ('al cost high', 'al', 'cost_per_day', 5),
  ('al tokens', 'al', 'tokens_per_month', 6000);
INSERT INTO analytics.alert_rules (name, user_id, metric, threshold, error_window, min_requests) VALUES
  ('al errors', 'al', 'error_rate', 0.3, '1 hour', 3),
  ('al errors, more requests', 'al', 'error_rate', 0.3, '1 hour', 4);
INSERT INTO analytics.alert_rules (name, metric, threshold) VALUES
  ('system cost', 'cost_per_day', 4.5),
  ('system tokens', 'tokens_per_month', 1000000);
INSERT INTO analytics.alert_rules (name, metric, threshold, enabled) VALUES ('disabled', 'cost_per_day', 0.0001, false);
SELECT is(analytics.evaluate_alerts(), 4, 'four rules reached: al cost, al tokens, al errors, system cost');
SELECT results_eq($$SELECT n.user_id, n.limit_name, n.period_start, n.threshold, n.used, n.limit_value, n.plan_id, r.name
                      FROM analytics.notifications n JOIN analytics.alert_rules r USING (rule_id) ORDER BY n.notification_id$$,
  $$VALUES ('al', 'alert:' || (SELECT rule_id FROM analytics.alert_rules WHERE name = 'al cost'), current_date, 1::numeric, 4.5, 4::numeric, '', 'al cost'),
           ('al', 'alert:' || (SELECT rule_id FROM analytics.alert_rules WHERE name = 'al tokens'), date_trunc('month', now())::date, 1, 6000, 6000, '', 'al tokens'),
           ('al', 'alert:' || (SELECT rule_id FROM analytics.alert_rules WHERE name = 'al errors'), current_date, 1, 0.3333, 0.3, '', 'al errors'),
           ('', 'alert:' || (SELECT rule_id FROM analytics.alert_rules WHERE name = 'system cost'), current_date, 1,
            (SELECT sum(cost) FROM analytics.chat_events WHERE occurred_at >= current_date AND status IN ('completed', 'failed')),
            4.5, '', 'system cost')$$,
  'the outbox rows: user, alert:<rule_id>, period, threshold 1, the amount measured, the rule''s threshold; system-wide under user_id ''''');
SELECT is(analytics.evaluate_alerts(), 0, 'evaluated again: nothing twice');
SELECT analytics.fold() \gset
SELECT is(analytics.evaluate_alerts(), 0, 'nor after a fold (rollups plus tail, the same amounts)');
SELECT count(analytics.record_chat_event('al', 'gpt-4o', input_tokens => 1, cost => 1)) \gset
SELECT is(analytics.evaluate_alerts(), 1, 'al''s 4th request: al cost high (5.50)');
SELECT is(pg_temp.as_role('ua_rs_user', $$SELECT count(*)::text FROM analytics.alert_rules$$), 'ERROR 42501',
  'alert rules: admins only');
SET usage_analytics.user_id = 'al';
SELECT is(pg_temp.as_role('ua_rs_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.list_notifications()$$), 'al',
  'an end user sees their own alerts, not the system-wide ones');
RESET usage_analytics.user_id;
SELECT is(pg_temp.as_role('ua_rs_app', $$SELECT count(*)::text FROM analytics.list_notifications('')$$), '1',
  'app backends see the system-wide ones (user_id '''')');
SELECT is(pg_temp.as_role('ua_rs_app', $$SELECT analytics.evaluate_alerts()::text$$), 'ERROR 42501',
  'evaluate_alerts: admins and the job only');
SELECT ok((SELECT count(*) = 1 FROM analytics.job_definitions() WHERE job_name = 'usage_analytics_alerts'
             AND command = 'SELECT analytics.evaluate_alerts()'), 'the alerts job is one of the scheduled jobs');

SELECT * FROM finish();
DROP VIEW pg_temp.raw_monthly;
DROP EXTENSION usage_analytics;
DROP OWNED BY ua_rs_user, ua_rs_app;
DROP ROLE ua_rs_user, ua_rs_app;
