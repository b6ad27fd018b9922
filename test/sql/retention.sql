\set ECHO none
-- Retention drops whole months of raw events; the fold runs first, so this
-- file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(10);

SELECT ok(analytics.record_chat_event('old', 'gpt-4o', input_tokens => 10, response_time_ms => 100,
          occurred_at => '2024-03-10 12:00+00') > 0, 'an event of March 2024');
SELECT ok(analytics.record_chat_event('new', 'gpt-4o', input_tokens => 20, response_time_ms => 200) > 0, 'an event of now');
SELECT ok(analytics.ensure_partitions(1) >= 1, 'March 2024 gets its partition');
SELECT is(analytics.apply_retention(), 1, 'retention drops the partition older than 13 months');
SELECT is(to_regclass('analytics.chat_events_202403')::text, NULL, 'the partition is gone');
SELECT results_eq($$SELECT user_id, message_count, median_response_time_ms FROM analytics.user_monthly_usage
                     WHERE month = '2024-03-01'$$,
  $$VALUES ('old', 1::bigint, 100)$$, 'its counters and rollups are kept (folded before the drop)');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rollups equal the raw log from the horizon on');
SELECT throws_ok($$SELECT analytics.rebuild_rollups('2024-03-01', '2024-03-31')$$, '55000',
  'cannot rebuild rollups before the retention horizon', 'no rebuild of months without raw events');
SELECT is(analytics.apply_retention(), 0, 'a second run drops nothing');
SELECT ok(to_regclass('analytics.chat_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')) IS NOT NULL,
  'the current month stays');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
