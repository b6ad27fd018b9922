\set ECHO none
-- Retention drops whole months of raw events; the fold runs first, so this
-- file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(17);

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

-- Payloads (free text) can go sooner than the events.
SELECT is(analytics.clear_payloads(), 0::bigint, 'payload retention is off by default');
SELECT analytics.record_chat_event('p', 'gpt-4o', input_tokens => 30, status => 'failed', error_message => 'prompt leaked here',
         metadata => '{"prompt": "secret"}', occurred_at => now() - interval '40 days', request_id => 'p-old') AS p_old \gset
SELECT analytics.record_chat_event('p', 'gpt-4o', input_tokens => 40, metadata => '{"prompt": "recent"}',
         occurred_at => now() - interval '10 days', request_id => 'p-new') AS p_new \gset
SELECT analytics.record_feedback(:p_old, 2, 'my words') \gset
SET usage_analytics.payload_retention_days = 30;
SELECT is(analytics.apply_retention(), 0, 'apply_retention drops no partition ...');
SELECT results_eq(format('SELECT metadata, error_message, feedback_text, feedback_rating, input_tokens, status
                            FROM analytics.chat_events WHERE id = %s', :p_old),
  $$VALUES (NULL::jsonb, NULL::text, NULL::text, 2::smallint, 30, 'failed'::text)$$,
  '... but clears the free text of events older than 30 days: rating, tokens and status stay');
SELECT is((SELECT metadata->>'prompt' FROM analytics.chat_events WHERE id = :p_new), 'recent', 'younger events keep theirs');
SELECT is(analytics.clear_payloads(), 0::bigint, 'each run starts where the last one stopped');
SELECT is((SELECT metadata::text || error_message FROM analytics.chat_events
            WHERE id = analytics.record_chat_event('p', 'gpt-4o', error_message => 'late', metadata => '{"prompt": "late"}',
                                                   occurred_at => now() - interval '45 days', request_id => 'p-late')),
  NULL, 'an event recorded late, already past payload retention, never stores its free text');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rollups still equal the raw log');
RESET usage_analytics.payload_retention_days;

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
