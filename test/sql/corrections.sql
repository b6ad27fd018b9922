\set ECHO none
-- Corrections change folded and unfolded events: this file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(45);

INSERT INTO analytics.plans (plan_id, name, monthly_token_limit, enforcement)
VALUES ('t1000', '1000 tokens', 1000, 'hard');
SELECT ok(analytics.subscribe('cu', 't1000') > 0, 'a user with 1000 tokens a month');
CREATE ROLE ua_corr_app;
CREATE ROLE ua_corr_admin;
CREATE ROLE ua_corr_user;
SELECT analytics.grant_app_backend('ua_corr_app') \gset
SELECT analytics.grant_admin('ua_corr_admin') \gset
SELECT analytics.grant_end_user('ua_corr_user') \gset

-- Three events: two folded, one not yet.
SELECT analytics.record_chat_event('cu', 'gpt-4o', provider => 'openai', input_tokens => 100,
  output_tokens => 50, response_time_ms => 120, document_id => 'd1', request_id => 'e1') AS e1 \gset
SELECT analytics.record_chat_event('cu', 'gpt-4o-mini', provider => 'openai', input_tokens => 200,
  output_tokens => 20, cost => 0.5, request_id => 'e2') AS e2 \gset
SELECT analytics.record_chat_event('other', 'gpt-4o', input_tokens => 10, request_id => 'o1') AS o1 \gset
SELECT ok(analytics.fold() >= 3, 'folded');
SELECT analytics.record_chat_event('cu', 'gpt-4o', provider => 'openai', input_tokens => 100,
  output_tokens => 10, request_id => 'e3') AS e3 \gset
SELECT is((SELECT used FROM analytics.check_quota('cu')), 480::numeric, '480 tokens used before corrections');

-- Adjust a folded event: priced again at its price, every figure follows.
SELECT is((SELECT kind || ' ' || (after->>'input_tokens') || ' ' || (after->>'cost')
             FROM analytics.correct_event(:e1, 'duplicate prompt counted', input_tokens => 40)),
  'adjust 40 0.0006000000', 'correct_event returns the correction (40 input tokens at 2.50 + 50 output at 10.00 per Mtok)');
SELECT is((SELECT input_tokens || ' ' || cost || ' ' || cost_source FROM analytics.chat_events WHERE id = :e1),
  '40 0.0006000000 computed', 'the event holds the corrected figures');
SELECT is((SELECT (before->>'input_tokens') || ' ' || (before->>'cost') FROM analytics.event_corrections WHERE event_id = :e1),
  '100 0.0007500000', 'the correction keeps the figures before');
SELECT is((SELECT used FROM analytics.check_quota('cu')), 420::numeric, 'the quota answer follows at once');
SELECT is((SELECT sum(input_tokens) FROM analytics.usage_counters WHERE user_id = 'cu'), 340::numeric,
  'counters follow');
SELECT is((SELECT sum(input_tokens) FROM analytics.rollup_user_models WHERE user_id = 'cu'), 240::numeric,
  'the folded model rollup follows (the unfolded event is not in it yet)');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rollups and counters equal the raw log');

-- Adjust a provided cost; adjust an event the fold has not reached.
SELECT is((SELECT after->>'cost_source' FROM analytics.correct_event(:e2, 'refund half', cost => 0.25)),
  'provided', 'a given cost is kept as provided');
SELECT is((SELECT after->>'output_tokens' FROM analytics.correct_event(:e3, 'provider re-billed', output_tokens => 30)),
  '30', 'an unfolded event');
SELECT ok(analytics.fold() >= 1, 'fold the corrected event');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rollups equal the raw log after folding it');
SELECT is((SELECT sum(cost) FROM analytics.rollup_system_models WHERE model = 'gpt-4o-mini'), 0.25::numeric,
  'system rollups hold the corrected cost');

-- Void: usage and cost refunded, the request stays a request.
SELECT is((SELECT kind FROM analytics.void_event(:e1, 'customer refund')), 'void', 'void_event');
SELECT is((SELECT input_tokens + output_tokens || ' ' || cost || ' ' || status FROM analytics.chat_events WHERE id = :e1),
  '0 0 completed', 'a voided event has no usage and no cost');
SELECT is((SELECT sum(requests) || ' ' || sum(input_tokens + output_tokens) FROM analytics.usage_counters WHERE user_id = 'cu'),
  '3 350', 'it is still a request, without its tokens');
SELECT is((SELECT tokens_total || ' ' || cost FROM analytics.rollup_documents WHERE document_id = 'd1'),
  '0 0.0000000000', 'the document rollup follows');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rollups equal the raw log after a void');
SELECT throws_ok(format('SELECT analytics.void_event(%s, %L)', :e1, 'again'), '55000', NULL, 'voiding twice is refused');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, %L, input_tokens => 5)', :e1, 'after void'), '55000',
  NULL, 'a voided event cannot be adjusted');

-- Corrections that raise usage notify like recording does.
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'cu'), 0::bigint, 'no notification yet');
BEGIN;
SELECT analytics.correct_event(:e3, 'tool call tokens were missing', output_tokens => 900) \gset
SELECT is((SELECT string_agg(threshold::text, ',' ORDER BY threshold) FROM analytics.notifications WHERE user_id = 'cu'),
  '0.8,1.0', 'raising usage past 80 % and 100 % notifies, in the correcting transaction');
ROLLBACK;
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'cu'), 0::bigint,
  'a rolled back correction leaves no notification');
SELECT is((SELECT count(*) FROM analytics.event_corrections WHERE event_id = :e3), 1::bigint,
  'and no correction row');

-- Who may correct, and the acting role recorded.
SELECT is(pg_temp.as_role('ua_corr_app', format($$SELECT actor FROM analytics.correct_event(%s, 'fix', input_tokens => 150)$$, :e2)),
  'ua_corr_app', 'an app backend corrects; the acting role is recorded');
SELECT is(pg_temp.as_role('ua_corr_admin', format($$SELECT actor FROM analytics.correct_event(%s, 'fix', input_tokens => 160)$$, :e2)),
  'ua_corr_admin', 'an admin corrects');
SELECT is(pg_temp.as_role('ua_corr_user', format($$SELECT actor FROM analytics.void_event(%s, 'mine')$$, :e2)),
  'ERROR 42501', 'an end user cannot correct');
SET usage_analytics.user_id = 'cu';
SELECT is(pg_temp.as_role('ua_corr_user', 'SELECT count(*) FROM analytics.event_corrections'), '6',
  'an end user reads the corrections of its own events');
SET usage_analytics.user_id = 'other';
SELECT is(pg_temp.as_role('ua_corr_user', 'SELECT count(*) FROM analytics.event_corrections'), '0',
  'and not those of another user');
RESET usage_analytics.user_id;

-- Bad input: a specific error, nothing written.
SELECT throws_ok($$SELECT analytics.correct_event(NULL, 'x', input_tokens => 1)$$, '23502', 'event_id must not be null', 'null event');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, NULL, input_tokens => 1)', :e2), '23502', 'reason must not be null', 'null reason');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, %L, input_tokens => 1)', :e2, '  '), '22023', 'reason must not be empty', 'empty reason');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, %L, input_tokens => 1)', :e2, repeat('x', 1001)), '22001', 'reason is too long', 'long reason');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, %L, output_tokens => -1)', :e2, 'x'), '22023',
  'output_tokens must be between 0 and 100000000', 'negative tokens');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, %L, reasoning_tokens => 999)', :e2, 'x'), '22023',
  'reasoning_tokens must not exceed output_tokens', 'reasoning above output');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, %L, cost => %L)', :e2, 'x', 'NaN'), '22023', 'cost must be a finite number', 'NaN cost');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, %L, cost => -1)', :e2, 'x'), '22023', 'cost must not be negative', 'negative cost');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, %L, cost => 1000001)', :e2, 'x'), '22023', 'cost must be at most 1000000 USD', 'huge cost');
SELECT throws_ok(format('SELECT analytics.correct_event(%s, %L)', :e2, 'x'), '22023', 'the correction changes nothing', 'no change');
SELECT throws_ok($$SELECT analytics.correct_event(-5, 'x', input_tokens => 1)$$, '42704', 'event -5 does not exist', 'unknown event');
SELECT * FROM analytics.start_request('cu', 'gpt-4o', 1, request_id => 'pending1') \gset
SELECT throws_ok(format('SELECT analytics.void_event(%s, %L)', :event_id, 'x'), '55000', NULL, 'a pending request has no usage yet');
SELECT is((SELECT count(*) FROM analytics.event_corrections), 6::bigint, 'no failed correction left a row');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rollups and counters still equal the raw log');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
DROP OWNED BY ua_corr_app, ua_corr_admin, ua_corr_user;
DROP ROLE ua_corr_app, ua_corr_admin, ua_corr_user;
