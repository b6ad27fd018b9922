-- Corrections, voids and feedback on the cluster (issue 16), on the cluster
-- 000_smoke distributed (roles of 050_rls): they take an event id alone, and
-- find the event's user first (a lookup over every shard), then lock and
-- change the row by its key on the user's shard; the counters equal the raw
-- log afterwards.  An end user rates its own event, not another's.

SELECT plan(10);

SELECT analytics.record_chat_event(user_id => 'cf1', model => 'gpt-4o-mini', input_tokens => 100, output_tokens => 10) AS cf1_a \gset
SELECT analytics.record_chat_event(user_id => 'cf1', model => 'gpt-4o-mini', input_tokens => 200, output_tokens => 20) AS cf1_b \gset
SELECT analytics.record_chat_event(user_id => 'cf2', model => 'gpt-4o-mini', input_tokens => 300, output_tokens => 30) AS cf2_a \gset

SELECT lives_ok(format($$SELECT analytics.correct_event(%s, 'billing dispute', input_tokens => 50)$$, :cf1_a),
                'correct_event by event id alone on the cluster');
SELECT lives_ok(format($$SELECT analytics.void_event(%s, 'refund')$$, :cf1_b),
                'void_event by event id alone on the cluster');
SELECT lives_ok(format($$SELECT analytics.record_feedback(%s, 4, 'fine')$$, :cf2_a),
                'record_feedback by event id alone on the cluster');

SELECT array[sum(input_tokens), sum(output_tokens)]::text AS log_cf1 FROM analytics.chat_events WHERE user_id = 'cf1' \gset
SELECT array[sum(input_tokens), sum(output_tokens)]::text AS counters_cf1 FROM analytics.usage_counters WHERE user_id = 'cf1' \gset
SELECT is(:'log_cf1'::text, '{50,10}', 'the log holds the correction and the void');
SELECT is(:'counters_cf1'::text, :'log_cf1'::text, 'the counters equal the log after them');
SELECT count(*) AS cf1_corrections FROM analytics.event_corrections WHERE user_id = 'cf1' \gset
SELECT is(:cf1_corrections::int, 2, 'both corrections are recorded');
SELECT feedback_rating AS cf2_rating FROM analytics.chat_events WHERE user_id = 'cf2' \gset
SELECT is(:cf2_rating::int, 4, 'the rating is on the event');

-- The end user cf2 rates its own event, and not cf1's.
SET ROLE ua_rls_app;
BEGIN;
SELECT analytics.act_as('cf2', 'ua_rls_end') IS NULL AS ok \gset
SELECT analytics.record_feedback(:cf2_a, 5) IS NULL AS ok \gset
COMMIT;
BEGIN;
SELECT analytics.act_as('cf2', 'ua_rls_end') IS NULL AS ok \gset
\set ON_ERROR_STOP 0
SELECT analytics.record_feedback(:cf1_a, 1) IS NULL AS other_ok \gset
\set other_state :LAST_ERROR_SQLSTATE
ROLLBACK;
RESET ROLE;
SELECT feedback_rating AS cf2_rating FROM analytics.chat_events WHERE user_id = 'cf2' \gset
SELECT is(:cf2_rating::int, 5, 'an end user rates its own event on the cluster');
SELECT feedback_rating IS NULL AS cf1_unrated FROM analytics.chat_events WHERE id = :cf1_a AND user_id = 'cf1' \gset
SELECT is(:'other_state'::text, '42704', 'rating another user''s event is refused as if it did not exist (42704)');
SELECT is(:'cf1_unrated'::boolean, true, 'and nothing is written');

SELECT * FROM finish();
