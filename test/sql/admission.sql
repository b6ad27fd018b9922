\set ECHO none
\i test/setup.psql
SELECT plan(57);

INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_token_limit, monthly_cost_limit,
    max_tokens_per_request, enforcement, warn_thresholds)
VALUES ('t3', 'Three a day', 3, 1000, 1, 600, 'hard', '{0.5,0.8,1.0}'),
       ('soft1', 'Soft', 1, NULL, NULL, NULL, 'soft', '{0.8,1.0}');
SELECT ok(analytics.subscribe('a', 't3') > 0, 'subscribe a');
SELECT ok(analytics.subscribe('s', 'soft1') > 0, 'subscribe s');

-- Admission reserves; the reservation counts at once.
SELECT results_eq($$SELECT allowed, status, limit_name, remaining FROM analytics.start_request('a', 'gpt-4o', 300, 'r1')$$,
  $$VALUES (true, 'pending', 'daily_requests', 2::numeric)$$, 'admitted: pending, one of three daily requests used');
SELECT results_eq($$SELECT used FROM analytics.check_quota('a') $$, $$VALUES (1::numeric)$$, 'check_quota counts the reservation');
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
                   WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.objsubid = 1
                     AND ((l.classid::bigint << 32) | l.objid::bigint)
                         = hashtextextended('usage_analytics.admission:' || 'a', 0)),
  'admission holds the documented lock on the user to commit');
SELECT results_eq($$SELECT event_id, allowed, status FROM analytics.start_request('a', 'gpt-4o', 300, 'r1')$$,
  $$SELECT id, true, 'pending' FROM analytics.chat_events WHERE request_id = 'r1'$$, 'a retry returns the first answer');
SELECT is((SELECT sum(pending_requests) FROM analytics.usage_counters WHERE user_id = 'a'), 1::numeric, 'a retry reserves nothing more');
SELECT is((SELECT reserved_tokens FROM analytics.chat_events WHERE request_id = 'r1'), 300, 'the estimate is kept on the event');

-- Token limit with estimates: 300 reserved + 800 > 1000.
SELECT results_eq($$SELECT allowed, status, limit_name FROM analytics.start_request('a', 'gpt-4o', 600, 'r2')$$,
  $$VALUES (true, 'pending', 'monthly_tokens')$$, '300 + 600 tokens of 1000: admitted');
SELECT results_eq($$SELECT allowed, status, limit_name, remaining FROM analytics.start_request('a', 'gpt-4o', 101, 'r3')$$,
  $$VALUES (false, 'rejected', 'monthly_tokens', 100::numeric)$$, '900 + 101 tokens: rejected, 100 remain');
SELECT results_eq($$SELECT status, error_code, reserved_tokens FROM analytics.chat_events WHERE request_id = 'r3'$$,
  $$VALUES ('rejected', 'monthly_tokens', NULL::integer)$$, 'a rejection is logged and reserves nothing');
SELECT is((SELECT sum(rejected) FROM analytics.usage_counters WHERE user_id = 'a'), 1::numeric, 'rejections are counted');
SELECT results_eq($$SELECT allowed, status FROM analytics.start_request('a', 'gpt-4o', 601)$$,
  $$VALUES (false, 'rejected')$$, 'max_tokens_per_request applies');

-- Settling: actual usage in, reservation out; twice is a no-op.
SELECT results_eq($$SELECT status_out, cost_out FROM analytics.complete_request(user_id => 'a', request_id => 'r1',
                      input_tokens => 100, output_tokens => 50, response_time_ms => 800)$$,
  $$VALUES ('completed', 0.00075::numeric)$$, 'complete by request_id: cost at the price in force');
SELECT results_eq($$SELECT status_out, cost_out FROM analytics.complete_request(user_id => 'a', request_id => 'r1',
                      input_tokens => 999, output_tokens => 999)$$,
  $$VALUES ('completed', 0.00075::numeric)$$, 'settling twice returns the same answer');
SELECT results_eq($$SELECT sum(requests), sum(input_tokens + output_tokens), sum(pending_requests), sum(pending_tokens)
                      FROM analytics.usage_counters WHERE user_id = 'a'$$,
  $$VALUES (1::numeric, 150::numeric, 1::numeric, 600::numeric)$$, 'counters: one settled request, one reservation left');
SELECT results_eq($$SELECT allowed FROM analytics.start_request('a', 'gpt-4o', 250, 'r4')$$,
  $$VALUES (true)$$, 'the released estimate makes room: 150 + 600 + 250');
SELECT results_eq($$SELECT allowed, limit_name FROM analytics.start_request('a', 'gpt-4o', 0)$$,
  $$VALUES (false, 'daily_requests')$$, 'the fourth request of the day is rejected');
SELECT results_eq(format('SELECT status_out FROM analytics.complete_request(%s, ''failed'', error_code => ''500'')',
                         (SELECT id FROM analytics.chat_events WHERE request_id = 'r2')),
  $$VALUES ('failed')$$, 'complete as failed by event_id');
SELECT is((SELECT sum(failed) FROM analytics.usage_counters WHERE user_id = 'a'), 1::numeric, 'failures are counted');

-- Soft plans admit past the limit and say so.
SELECT results_eq($$SELECT allowed, status FROM analytics.start_request('s', 'gpt-4o')$$, $$VALUES (true, 'pending')$$, 'soft: admitted');
SELECT results_eq($$SELECT allowed, status, limit_name FROM analytics.start_request('s', 'gpt-4o')$$,
  $$VALUES (true, 'pending', 'daily_requests')$$, 'soft: admitted past the limit');

-- Errors.
SELECT throws_ok($$SELECT * FROM analytics.start_request(NULL, 'gpt-4o')$$, '23502', 'user_id must not be null', 'start without user');
SELECT throws_ok($$SELECT * FROM analytics.start_request('a', 'gpt-4o', -1)$$, '22023', NULL, 'negative estimate');
SELECT throws_ok($$SELECT * FROM analytics.start_request('a', 'gpt-4o', estimated_cost => 'NaN')$$, '22023', NULL, 'NaN estimated cost');
SELECT throws_ok($$SELECT * FROM analytics.complete_request()$$, '23502', 'complete_request needs event_id, or user_id and request_id', 'complete without a request');
SELECT throws_ok($$SELECT * FROM analytics.complete_request(999999)$$, '42704', 'request 999999 does not exist', 'unknown request');
SELECT throws_ok($$SELECT * FROM analytics.complete_request(user_id => 'b', request_id => 'r4')$$, '42704', NULL, 'another user''s request id');
SELECT throws_ok(format('SELECT * FROM analytics.complete_request(%s, user_id => %L)',
                        (SELECT id FROM analytics.chat_events WHERE request_id = 'r4'), 'b'),
  '42704', NULL, 'another user''s event');
SELECT throws_ok(format('SELECT * FROM analytics.complete_request(%s)', (SELECT id FROM analytics.chat_events WHERE request_id = 'r3')),
  '55000', NULL, 'a rejected request cannot be completed');
SELECT throws_ok(format('SELECT * FROM analytics.complete_request(%s, ''pending'')', (SELECT id FROM analytics.chat_events WHERE request_id = 'r4')),
  '22023', NULL, 'settling as pending');
SELECT throws_ok(format('SELECT * FROM analytics.complete_request(%s, input_tokens => -3)', (SELECT id FROM analytics.chat_events WHERE request_id = 'r4')),
  '22023', NULL, 'negative actual tokens');
SELECT throws_ok(format('SELECT * FROM analytics.complete_request(%s, output_tokens => 3, reasoning_tokens => 4)', (SELECT id FROM analytics.chat_events WHERE request_id = 'r4')),
  '22023', 'reasoning_tokens must not exceed output_tokens', 'reasoning beyond output');
SELECT throws_ok(format('SELECT analytics.record_feedback(%s, 4)', (SELECT id FROM analytics.chat_events WHERE request_id = 'r4')),
  '55000', NULL, 'a pending request cannot be rated yet');

-- Expiry releases what is never settled.
SET LOCAL usage_analytics.reservation_ttl = '1s';
SELECT pg_sleep(1.1);
SELECT ok(analytics.expire_reservations() >= 2, 'expire old reservations');
SELECT results_eq($$SELECT sum(pending_requests), sum(pending_tokens) FROM analytics.usage_counters$$,
  $$VALUES (0::numeric, 0::numeric)$$, 'every reservation released');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE status = 'expired'), 3::bigint, 'expired requests are marked');
SELECT results_eq(format('SELECT status_out FROM analytics.complete_request(%s, input_tokens => 10)', (SELECT id FROM analytics.chat_events WHERE request_id = 'r4')),
  $$VALUES ('completed')$$, 'a late completion still records the usage');
SELECT results_eq($$SELECT sum(requests), sum(pending_requests) FROM analytics.usage_counters WHERE user_id = 'a'$$,
  $$VALUES (3::numeric, 0::numeric)$$, 'without releasing twice');

-- Notifications: thresholds of the plan (50 %, 80 %, 100 %), once each.
SELECT set_eq($$SELECT limit_name, threshold FROM analytics.notifications WHERE user_id = 'a'$$,
  $$VALUES ('daily_requests', 0.5), ('daily_requests', 0.8), ('daily_requests', 1.0),
            ('monthly_tokens', 0.5), ('monthly_tokens', 0.8), ('monthly_tokens', 1.0)$$,
  'one row per limit and threshold reached (the tokens reached 1000 of 1000 with r4)');
SELECT is((SELECT count(*) FROM analytics.list_notifications('a')), 6::bigint, 'list_notifications');
SELECT is(analytics.acknowledge_notifications(ARRAY(SELECT notification_id FROM analytics.notifications WHERE user_id = 'a')), 6,
  'acknowledge them');
SELECT is((SELECT count(*) FROM analytics.list_notifications('a')), 0::bigint, 'acknowledged ones are not listed by default');

-- Thresholds crossed inside one statement (a batch) notify at once.
INSERT INTO analytics.plans (plan_id, name, daily_request_limit, enforcement) VALUES ('b3', 'three a day', 3, 'hard');
SELECT ok(analytics.subscribe('batch', 'b3') > 0, 'subscribe batch');
SELECT is((SELECT count(*) FROM analytics.record_chat_events(
  '[{"user_id": "batch", "model": "gpt-4o"}, {"user_id": "batch", "model": "gpt-4o"}, {"user_id": "batch", "model": "gpt-4o"}]')),
  3::bigint, 'a batch of three events');
SELECT set_eq($$SELECT threshold FROM analytics.notifications WHERE user_id = 'batch'$$, $$VALUES (0.8), (1.0)$$,
  'the batch that reaches 80 % and 100 % notifies both');

-- A threshold crossed inside a savepoint that rolls back was not reached:
-- no row; crossed again after the rollback, it is recorded once.
INSERT INTO analytics.plans (plan_id, name, monthly_request_limit, enforcement, warn_thresholds)
VALUES ('sp5', 'five a month', 5, 'soft', '{0.8}');
SELECT ok(analytics.subscribe('sp', 'sp5') > 0, 'subscribe sp');
SELECT is((SELECT count(*) FROM (SELECT analytics.record_chat_event('sp', 'gpt-4o', input_tokens => 1)
                                   FROM generate_series(1, 3)) e), 3::bigint, 'three of five requests');
SAVEPOINT crossing;
SELECT ok(analytics.record_chat_event('sp', 'gpt-4o', input_tokens => 1) > 0, 'the fourth, inside a savepoint');
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'sp'), 1::bigint, '80 % reached inside the savepoint');
ROLLBACK TO SAVEPOINT crossing;
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'sp'), 0::bigint,
  'rolled back with the savepoint: not recorded');
SELECT is((SELECT count(*) FROM (SELECT analytics.record_chat_event('sp', 'gpt-4o', input_tokens => 1)
                                   FROM generate_series(1, 2)) e), 2::bigint, 'the fourth and fifth again');
SELECT results_eq($$SELECT threshold, used FROM analytics.notifications WHERE user_id = 'sp'$$,
  $$VALUES (0.8, 4::numeric)$$, 'crossed again after the rollback: recorded once, by the fourth');

-- rebuild_rollups recomputes counters with reservations and rejections.
SELECT analytics.subscribe('b', 'pro') > 0 AS b_on_pro \gset
SELECT ok((SELECT allowed FROM analytics.start_request('b', 'gpt-4o', 77, request_id => 'rebuild-pending')),
  'one more reservation');
CREATE TEMP TABLE counters_before AS
  SELECT user_id, usage_date, sum(requests) r, sum(pending_requests) p, sum(pending_tokens) t, sum(rejected) x
    FROM analytics.usage_counters GROUP BY 1, 2
  HAVING sum(requests) + sum(pending_requests) + sum(rejected) > 0;
SELECT ok((SELECT sum(p) > 0 AND sum(x) > 0 FROM counters_before), 'there are reservations and rejections');
SELECT ok(analytics.rebuild_rollups(current_date - 2, current_date + 2) >= 0, 'rebuild_rollups');
SELECT set_eq($$SELECT user_id, usage_date, sum(requests) r, sum(pending_requests) p, sum(pending_tokens) t, sum(rejected) x
                  FROM analytics.usage_counters GROUP BY 1, 2$$,
  'SELECT * FROM counters_before', 'rebuilt counters keep reservations and rejections');

-- Admission needs READ COMMITTED.
SELECT * FROM finish();
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
CREATE EXTENSION usage_analytics;
SELECT plan(1);
SELECT throws_ok($$SELECT * FROM analytics.start_request('a', 'gpt-4o')$$, '0A000',
  'start_request must run at the READ COMMITTED isolation level', 'no admission under REPEATABLE READ');
SELECT * FROM finish();
ROLLBACK;
