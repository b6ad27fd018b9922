\set ECHO none
\i test/setup.psql
SELECT plan(25);

SELECT ok(analytics.subscribe('ann', 'pro') > 0, 'subscribe ann');
-- 30 requests of ann over three days; categories; one failure.
SELECT count(analytics.record_chat_event('ann', CASE WHEN i % 3 = 0 THEN 'claude-sonnet-4' ELSE 'gpt-4o' END,
         input_tokens => 100 * i, output_tokens => 10 * i, response_time_ms => 100 * i,
         category => CASE WHEN i % 2 = 0 THEN 'search' ELSE 'chat' END,
         status => CASE WHEN i = 7 THEN 'failed' ELSE 'completed' END,
         occurred_at => greatest(date_trunc('month', now()), now() - (30 - i) * interval '1 minute')))
  FROM generate_series(1, 30) i \gset

-- The dashboard (seed 001 shape).
SELECT analytics.user_dashboard('ann') AS dash \gset
SELECT set_eq(format('SELECT jsonb_object_keys(%L::jsonb)', :'dash'),
  ARRAY['user', 'metrics', 'limits', 'performance', 'recentRequests', 'requestsByCategory',
        'requestsByIntent', 'requestsByType'], 'dashboard sections');
SELECT is(:'dash'::jsonb #>> '{user,plan}', 'pro', 'user.plan');
SELECT is((:'dash'::jsonb #>> '{metrics,totalRequests}')::int, 30, 'metrics.totalRequests');
SELECT is((:'dash'::jsonb #>> '{metrics,totalTokensUsed}')::bigint, (SELECT sum(110 * i) FROM generate_series(1, 30) i), 'metrics.totalTokensUsed');
SELECT is((:'dash'::jsonb #>> '{limits,canMakeRequest}')::boolean, true, 'limits.canMakeRequest');
SELECT is((:'dash'::jsonb #>> '{limits,dailyLimit}')::int, 1000, 'limits.dailyLimit from the plan');
SELECT is((:'dash'::jsonb #>> '{performance,successRate}')::numeric, round(29 / 30.0, 4), 'performance.successRate');
SELECT is(jsonb_array_length(:'dash'::jsonb -> 'recentRequests'), 10, 'ten recent requests');
SELECT is((:'dash'::jsonb #>> '{recentRequests,0,tokens}')::int, 3300, 'newest first');
SELECT is(:'dash'::jsonb -> 'requestsByCategory', '{"chat": 15, "search": 15}'::jsonb, 'requestsByCategory');
SELECT throws_ok($$SELECT analytics.user_dashboard(NULL)$$, '23502', NULL, 'a dashboard needs a user');

-- History: offset pages and keyset pages agree.
SELECT results_eq($$SELECT id FROM analytics.get_user_request_history('ann', 5, 5)$$,
  $$SELECT id FROM analytics.chat_events WHERE user_id = 'ann' ORDER BY occurred_at DESC, id DESC LIMIT 5 OFFSET 5$$,
  'an offset page');
SELECT occurred_at AS k_at, id AS k_id FROM analytics.get_user_request_history('ann', 1, 4) \gset
SELECT results_eq(format('SELECT id FROM analytics.get_user_request_history_before(%L, %L, %s, 5)', 'ann', :'k_at', :k_id),
  $$SELECT id FROM analytics.get_user_request_history('ann', 5, 5)$$, 'the keyset page after row 5 is the same page');
SELECT is((SELECT count(*) FROM analytics.get_user_request_history('nobody')), 0::bigint, 'no history: no rows');
SELECT throws_ok($$SELECT * FROM analytics.get_user_request_history('ann', 0)$$, '22023', 'limit must be between 1 and 1000', 'limit 0');
SELECT throws_ok($$SELECT * FROM analytics.get_user_request_history('ann', 10, -1)$$, '22023', NULL, 'negative offset');
SELECT throws_ok($$SELECT * FROM analytics.get_user_request_history_before('ann', now(), 1, 5000)$$, '22023', NULL, 'keyset limit too large');
SELECT throws_ok($$SELECT * FROM analytics.get_user_request_history_before('ann', NULL, NULL)$$, '23502', 'before_occurred_at must not be null', 'keyset page without a position');

-- Token breakdown (seed 003), read-your-writes before any fold.
SELECT results_eq($$SELECT model, provider, request_count, total_tokens FROM analytics.get_user_token_breakdown('ann')$$,
  $$SELECT model, provider, count(*), sum(input_tokens + output_tokens)::bigint FROM analytics.chat_events
     WHERE user_id = 'ann' GROUP BY 1, 2 ORDER BY 4 DESC, 1$$, 'tokens by model and provider');

-- Per-user analytics (seed 003) and recent activity (seed 000).
SELECT results_eq($$SELECT total_requests, successful_requests, failed_requests FROM analytics.user_request_analytics WHERE user_id = 'ann'$$,
  $$VALUES (30::bigint, 29::bigint, 1::bigint)$$, 'user_request_analytics counts');
SELECT is((SELECT count(*) FROM analytics.v_user_recent_activity WHERE user_id = 'ann'), 30::bigint, 'recent activity');

-- Jobs without pg_cron.
SELECT throws_ok($$SELECT * FROM analytics.schedule_jobs()$$, '55000', 'pg_cron is not installed in this database', 'schedule_jobs needs pg_cron');
SELECT throws_ok($$SELECT analytics.unschedule_jobs()$$, '55000', NULL, 'unschedule_jobs needs pg_cron');
SELECT is((SELECT count(*) FROM analytics.jobs WHERE NOT scheduled), 7::bigint, 'analytics.jobs lists the jobs, unscheduled');

SELECT * FROM finish();
ROLLBACK;
