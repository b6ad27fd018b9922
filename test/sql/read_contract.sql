\set ECHO none
-- Documented names and periods of the read path, verify_rollups on
-- admissions, the batch bound, the operators' views.  Folds, so it commits
-- as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(28);

-- Named notation with the documented argument names.
SELECT count(analytics.record_chat_event('rc_ann', 'gpt-4o', input_tokens => 100, output_tokens => 10,
         response_time_ms => 100 * i, status => CASE WHEN i = 1 THEN 'failed' ELSE 'completed' END,
         occurred_at => now() - interval '2 months' + i * interval '1 minute'))
  FROM generate_series(1, 4) i \gset
SELECT count(analytics.record_chat_event('rc_ann', 'gpt-4o', input_tokens => 100, output_tokens => 10,
         response_time_ms => 1000, category => 'chat',
         occurred_at => greatest(now() - interval '1 minute', date_trunc('month', now()))))
  FROM generate_series(1, 2) \gset
SELECT is((SELECT count(*) FROM analytics.get_user_request_history(user_id => 'rc_ann')), 6::bigint,
  'get_user_request_history(user_id => ...)');
SELECT is((SELECT count(*) FROM analytics.get_user_request_history(user_id => 'rc_ann', "limit" => 2, "offset" => 1)), 2::bigint,
  'get_user_request_history("limit" => ..., "offset" => ...)');
SELECT is((SELECT count(*) FROM analytics.get_user_request_history_before(user_id => 'rc_ann',
            before_occurred_at => now() + interval '1 hour', before_id => NULL, "limit" => 3)), 3::bigint,
  'get_user_request_history_before with named arguments');
SELECT is((SELECT request_count FROM analytics.get_user_token_breakdown(user_id => 'rc_ann')), 6::bigint,
  'get_user_token_breakdown(user_id => ...)');
SELECT is(analytics.user_dashboard(user_id => 'rc_ann') #>> '{user,id}', 'rc_ann', 'user_dashboard(user_id => ...)');
SELECT is((SELECT count(*) FROM analytics.list_notifications(user_id => 'rc_ann', include_acknowledged => true)), 0::bigint,
  'list_notifications(user_id => ...)');
SELECT throws_ok($$SELECT * FROM analytics.get_user_request_history(user_id => 'rc_ann', "limit" => 0)$$, '22023',
  'limit must be between 1 and 1000', 'a bad named limit is still refused');

-- user_dashboard: performance is one period, this month.  ann's failure and
-- slow requests were two months ago; this month: 2 requests, both 1000 ms.
SELECT analytics.user_dashboard('rc_ann') AS dash \gset
SELECT is(:'dash'::jsonb #>> '{performance,period}', 'month', 'performance says its period');
SELECT is((:'dash'::jsonb #>> '{performance,totalRequests}')::int, 2, 'performance.totalRequests: this month');
SELECT is((:'dash'::jsonb #>> '{performance,successRate}')::numeric, 1.0000, 'performance.successRate: this month');
SELECT is((:'dash'::jsonb #>> '{performance,averageResponseTime}')::int, 1000, 'performance.averageResponseTime: this month');
SELECT is((:'dash'::jsonb #>> '{performance,medianResponseTime}')::int, 1000, 'performance.medianResponseTime: this month');
SELECT is((:'dash'::jsonb #>> '{metrics,totalRequests}')::int, 6, 'metrics stay all time');

-- mv_document_popularity: UTC days whatever the refreshing session's time
-- zone (one of +14 and -11 is on another date than UTC at any hour).
SELECT count(analytics.record_chat_event('rc_doc_user', 'gpt-4o', input_tokens => 1, document_id => 'rc_doc',
         occurred_at => ((now() AT TIME ZONE 'UTC')::date - d + time '12:00') AT TIME ZONE 'UTC'))
  FROM unnest('{6,7,29,30}'::int[]) d \gset
SELECT count(analytics.record_chat_event('rc_doc_user', 'gpt-4o', input_tokens => 1, document_id => 'rc_old_doc',
         occurred_at => ((now() AT TIME ZONE 'UTC')::date - 40 + time '12:00') AT TIME ZONE 'UTC')) \gset
SELECT analytics.fold() \gset
SET TimeZone = 'Pacific/Kiritimati';
SELECT analytics.refresh_all_views() \gset
SELECT is((SELECT row(requests_7d, requests_30d, requests_all_time)::text FROM analytics.mv_document_popularity
            WHERE document_id = 'rc_doc'), '(1,3,4)', 'windows in UTC days, refreshed at UTC+14');
SET TimeZone = 'Pacific/Pago_Pago';
SELECT analytics.refresh_all_views() \gset
SELECT is((SELECT row(requests_7d, requests_30d, requests_all_time)::text FROM analytics.mv_document_popularity
            WHERE document_id = 'rc_doc'), '(1,3,4)', 'windows in UTC days, refreshed at UTC-11');
SET TimeZone = 'UTC';
SELECT is((SELECT row(requests_7d, requests_30d, users_7d, users_30d, cost_30d)::text FROM analytics.mv_document_popularity
            WHERE document_id = 'rc_old_doc'), '(0,0,0,0,0)', 'empty windows are 0, not NULL');

-- verify_rollups: user-days with only pending or rejected requests differ
-- from nothing; an admitted-then-expired one neither.
SELECT analytics.subscribe('rc_pending', 'pro') > 0 AND analytics.subscribe('rc_pending2', 'pro') > 0 AS ok \gset
SELECT analytics.start_request('rc_pending', 'gpt-4o', estimated_tokens => 100, request_id => 'p1') IS NOT NULL AS ok \gset
INSERT INTO analytics.plans (plan_id, name, daily_request_limit) VALUES ('rc_none', 'None', 0);
SELECT analytics.subscribe('rc_rejected', 'rc_none') > 0 AS ok \gset
SELECT is((SELECT status FROM analytics.start_request('rc_rejected', 'gpt-4o', estimated_tokens => 100)), 'rejected',
  'a rejected request');
SELECT analytics.fold() \gset
SELECT is((SELECT count(*) FROM analytics.verify_rollups()), 0::bigint, 'verify_rollups: nothing for pending or rejected requests');
SET usage_analytics.reservation_ttl = 1;
SELECT pg_sleep(1.1) \gset
SELECT is(analytics.expire_reservations(), 1::bigint, 'the reservation expires');
RESET usage_analytics.reservation_ttl;
SELECT is((SELECT count(*) FROM analytics.verify_rollups()), 0::bigint, 'verify_rollups: nothing after it expired');
-- And it still sees a real difference in a pending reservation.
SELECT analytics.start_request('rc_pending2', 'gpt-4o', estimated_tokens => 100, request_id => 'p2') IS NOT NULL AS ok \gset
UPDATE analytics.usage_counters SET pending_tokens = pending_tokens + 1 WHERE user_id = 'rc_pending2';
SELECT is((SELECT rollup FROM analytics.verify_rollups()), 'usage_counters', 'a drifted reservation is reported');
UPDATE analytics.usage_counters SET pending_tokens = pending_tokens - 1 WHERE user_id = 'rc_pending2';

-- record_chat_events is bounded.
SET usage_analytics.max_batch_events = 3;
SELECT throws_ok($$SELECT analytics.record_chat_events('[{"user_id":"rc_b","model":"gpt-4o"},{"user_id":"rc_b","model":"gpt-4o"},{"user_id":"rc_b","model":"gpt-4o"},{"user_id":"rc_b","model":"gpt-4o"}]')$$,
  '54000', 'a batch holds at most 3 events, this one has 4', 'a batch over the bound is refused');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE user_id = 'rc_b'), 0::bigint, 'and nothing of it is written');
RESET usage_analytics.max_batch_events;
SELECT throws_ok($$SELECT analytics.record_chat_events(json_build_array()::jsonb || (SELECT jsonb_agg('{"user_id":"rc_b","model":"gpt-4o"}'::jsonb) FROM generate_series(1, 10001)))$$,
  '54000', NULL, 'the default bound is 10,000');

-- Operators: fold lag, settings from SQL.
SELECT count(analytics.record_chat_event('rc_lag', 'gpt-4o', input_tokens => 1)) FROM generate_series(1, 3) \gset
SELECT is((SELECT unfolded_events FROM analytics.fold_lag), 3::bigint, 'fold_lag counts the events not yet folded');
SELECT analytics.fold() \gset
SELECT is((SELECT unfolded_events = 0 AND lag = interval '0' FROM analytics.fold_lag), true, 'and none after a fold');
SELECT throws_ok($$SELECT analytics.setting('usage_analytics.user_id')$$, '22023', NULL, 'setting() takes the unqualified name');
SELECT throws_ok($$SELECT analytics.setting('no_such_setting')$$, '42704', 'unrecognized setting "usage_analytics.no_such_setting"', 'setting() of an unknown name');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
