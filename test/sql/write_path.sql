\set ECHO none
\i test/setup.psql
SELECT plan(62);

-- A recorded event: ledger, cost, status, defaults.
SELECT ok(analytics.record_chat_event(user_id => 'alice', model => 'gpt-4o',
  input_tokens => 1000, cached_input_tokens => 200, output_tokens => 500, reasoning_tokens => 100,
  response_time_ms => 1200, time_to_first_token_ms => 300, conversation_id => 'c1',
  document_id => 'd1', category => 'search', metadata => '{"k": "v"}') > 0, 'records an event');
SELECT results_eq($$
  SELECT user_id, provider, model, status, input_tokens, cached_input_tokens, output_tokens,
         reasoning_tokens, cost_source, cache_hit, response_time_ms, metadata
    FROM analytics.chat_events$$,
  $$VALUES ('alice', 'openai', 'gpt-4o', 'completed', 1000, 200, 500, 100, 'computed', true, 1200, '{"k": "v"}'::jsonb)$$,
  'the row holds what was passed, the provider from the price book, cache_hit derived');
SELECT is((SELECT occurred_at FROM analytics.chat_events), now(), 'occurred_at defaults to now()');
SELECT is((SELECT recorded_at FROM analytics.chat_events), now(), 'recorded_at is the time of recording');

-- Idempotency on (user_id, request_id).
SELECT analytics.record_chat_event('alice', 'gpt-4o', input_tokens => 10, request_id => 'req-1') AS first_id \gset
SELECT is(analytics.record_chat_event('alice', 'gpt-4o', input_tokens => 99, request_id => 'req-1'),
  :first_id::bigint, 'a repeat returns the first event''s id');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE request_id = 'req-1'), 1::bigint,
  'a repeat records nothing');
SELECT is((SELECT input_tokens FROM analytics.chat_events WHERE request_id = 'req-1'), 10,
  'a repeat changes nothing');
SELECT is((SELECT sum(requests) FROM analytics.usage_counters WHERE user_id = 'alice'), 2::numeric,
  'a repeat is counted once');
SELECT isnt(analytics.record_chat_event('bob', 'gpt-4o', request_id => 'req-1'), :first_id::bigint,
  'the same request_id of another user is another request');

-- Failed requests.
SELECT ok(analytics.record_chat_event('alice', 'gpt-4o', status => 'failed', error_code => '429',
  error_message => 'rate limited') > 0, 'records a failed request');
SELECT is((SELECT failed FROM analytics.usage_counters WHERE user_id = 'alice'), 1::bigint,
  'failed requests are counted as errors');

-- Batches.
SELECT is((SELECT count(*) FROM analytics.record_chat_events(
  '[{"user_id": "carol", "model": "gpt-4o-mini", "input_tokens": 5, "sections_referenced": ["a", "b"]},
    {"user_id": "carol", "model": "gpt-4o-mini", "output_tokens": 7, "metadata": {"a": 1}, "status": "failed"},
    {"user_id": "carol", "model": "gpt-4o-mini", "request_id": "x"},
    {"user_id": "carol", "model": "gpt-4o-mini", "request_id": "x"}]')), 4::bigint,
  'a batch returns one id per element');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE user_id = 'carol'), 3::bigint,
  'a batch honours idempotency keys');
SELECT is((SELECT sections_referenced FROM analytics.chat_events WHERE user_id = 'carol' AND input_tokens = 5),
  ARRAY['a', 'b'], 'a batch passes arrays');

-- Provider usage objects onto the ledger.
SELECT results_eq($$SELECT * FROM analytics.openai_usage(
    '{"prompt_tokens": 100, "completion_tokens": 50, "prompt_tokens_details": {"cached_tokens": 30},
      "completion_tokens_details": {"reasoning_tokens": 10}}')$$,
  $$VALUES (70::bigint, 30::bigint, 0::bigint, 50::bigint, 10::bigint)$$,
  'OpenAI prompt_tokens include cached tokens');
SELECT results_eq($$SELECT * FROM analytics.openai_usage(
    '{"input_tokens": 100, "output_tokens": 50, "input_tokens_details": {"cached_tokens": 40},
      "output_tokens_details": {"reasoning_tokens": 20}}')$$,
  $$VALUES (60::bigint, 40::bigint, 0::bigint, 50::bigint, 20::bigint)$$,
  'OpenAI Responses API usage');
SELECT results_eq($$SELECT * FROM analytics.anthropic_usage(
    '{"input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 30,
      "cache_creation_input_tokens": 5}')$$,
  $$VALUES (100::bigint, 30::bigint, 5::bigint, 50::bigint, 0::bigint)$$,
  'Anthropic input_tokens exclude the cache');

-- Bad input: a specific SQLSTATE, and nothing written.
SELECT count(*) AS events_before FROM analytics.chat_events \gset
SELECT sum(requests) AS counted_before FROM analytics.usage_counters \gset
SELECT throws_ok($$SELECT analytics.record_chat_event(NULL, 'gpt-4o')$$, '23502', 'user_id must not be null', 'NULL user');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', NULL)$$, '23502', 'model must not be null', 'NULL model');
SELECT throws_ok($$SELECT analytics.record_chat_event('', 'gpt-4o')$$, '22023', 'user_id must not be empty', 'empty user');
SELECT throws_ok($$SELECT analytics.record_chat_event(repeat('u', 257), 'gpt-4o')$$, '22001', 'user_id is too long', 'overlong user id');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', error_message => repeat('e', 9000))$$, '22001', 'error_message is too long', 'overlong error message');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', input_tokens => -1)$$, '22023', 'input_tokens must be between 0 and 100000000', 'negative tokens');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', output_tokens => 100000001)$$, '22023', 'output_tokens must be between 0 and 100000000', 'absurd tokens');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cached_input_tokens => 10000000000)$$, '22023', NULL, 'absurd cached tokens');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cache_write_tokens => -5)$$, '22023', NULL, 'negative cache writes');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', output_tokens => 5, reasoning_tokens => 6)$$, '22023', 'reasoning_tokens must not exceed output_tokens', 'reasoning beyond output');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => 'NaN')$$, '22023', 'cost must be a finite number', 'NaN cost');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => 'Infinity')$$, '22023', 'cost must be a finite number', 'Infinity cost');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => '-Infinity')$$, '22023', 'cost must be a finite number', '-Infinity cost');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => -0.01)$$, '22023', 'cost must not be negative', 'negative cost');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', cost => 1000000.01)$$, '22023', 'cost must be at most 1000000 USD', 'absurd cost');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', response_time_ms => -1)$$, '22023', 'response_time_ms must be between 0 and 86400000', 'negative latency');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', response_time_ms => 100, time_to_first_token_ms => 101)$$, '22023', 'time_to_first_token_ms must not exceed response_time_ms', 'first token after the end');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', intermediate_steps => -1)$$, '22023', NULL, 'negative steps');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', status => 'pending')$$, '22023', 'status must be "completed" or "failed", not "pending"', 'unfinished status');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', occurred_at => now() + interval '1 hour')$$, '22008', 'occurred_at is in the future', 'future event');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', occurred_at => 'infinity')$$, '22008', 'occurred_at must be a finite timestamp', 'infinite time');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', sections_referenced => '{{a},{b}}')$$, '22023', NULL, 'two-dimensional sections');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', metadata => '[1, 2]')$$, '22023', 'metadata must be a JSON object', 'metadata array');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', metadata => '"text"')$$, '22023', 'metadata must be a JSON object', 'metadata scalar');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', metadata => jsonb_build_object('blob', repeat('x', 20000)))$$, '54000', 'metadata is too large', 'oversized metadata');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'no-such-model')$$, '42704', 'unknown model "no-such-model"', 'unknown model without cost');
SELECT throws_ok($$SELECT analytics.record_chat_event('alice', 'gpt-4o', provider => 'anthropic')$$, '42704', 'unknown model "gpt-4o"', 'model unknown for that provider');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('{"user_id": "x"}')$$, '22023', 'events must be a JSON array of objects', 'batch not an array');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[1]')$$, '22023', 'event 1 is not a JSON object', 'batch element not an object');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "x", "model": "gpt-4o", "tokens": 1}]')$$, '22023', 'event 1 has unknown key "tokens"', 'batch with a misspelt key');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "x", "model": "gpt-4o", "sections_referenced": "a"}]')$$, '22023', 'event 1 key "sections_referenced" must be an array of strings', 'batch key of the wrong type');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "x", "model": "gpt-4o"}, {"user_id": null, "model": "gpt-4o"}]')$$, '23502', NULL, 'a bad element fails the whole batch');
SELECT is((SELECT count(*) FROM analytics.chat_events), :events_before::bigint, 'no bad input wrote an event');
SELECT is((SELECT sum(requests) FROM analytics.usage_counters), :counted_before::numeric, 'no bad input reached the counters');
SELECT is((SELECT count(*) FROM analytics.request_keys), 3::bigint, 'no bad input left an idempotency key');

-- The log is append-only, for every role, superusers included.
SELECT throws_ok($$UPDATE analytics.chat_events SET cost = 0$$, '42501', 'UPDATE of analytics.chat_events is not allowed', 'no UPDATE of events');
SELECT throws_ok($$DELETE FROM analytics.chat_events$$, '42501', 'DELETE of analytics.chat_events is not allowed', 'no DELETE of events');
SELECT throws_ok($$DELETE FROM analytics.chat_events_default$$,
  '42501', NULL, 'no DELETE through a partition');
SELECT throws_ok($$TRUNCATE analytics.chat_events$$, '42501', 'TRUNCATE of analytics.chat_events is not allowed', 'no TRUNCATE of events');

-- Partitions: an event for a month without one waits in the default
-- partition and moves into its month when the partition is made.
SELECT analytics.record_chat_event('dave', 'gpt-4o', occurred_at => '2024-03-10 12:00+00') AS old_id \gset
SELECT is((SELECT tableoid::regclass::text FROM analytics.chat_events WHERE id = :old_id),
  'analytics.chat_events_default', 'an event of a month without partition is kept');
SELECT ok(analytics.ensure_partitions(2) >= 1, 'ensure_partitions creates partitions');
SELECT is((SELECT tableoid::regclass::text FROM analytics.chat_events WHERE id = :old_id),
  'analytics.chat_events_202403', 'and moves waiting events into their month');
SELECT is(analytics.ensure_partitions(2), 0, 'ensure_partitions is idempotent');
SELECT throws_ok($$SELECT analytics.ensure_partitions(-1)$$, '22023', 'months_ahead must be between 0 and 120', 'bad months_ahead');
SELECT ok(to_regclass('analytics.chat_events_' || to_char((now() AT TIME ZONE 'UTC') + interval '2 months', 'YYYYMM')) IS NOT NULL,
  'partitions ahead exist');

SELECT * FROM finish();
ROLLBACK;
