\set ECHO none
-- Seeds 000 and 001: model_version, user_query_length, ai_response_length,
-- complexity, ip_address and user_agent on events, through every way in;
-- their checks; payload retention; the raw log's lookup indexes.
\i test/setup.psql
SELECT plan(27);

SELECT analytics.record_chat_event('u1', 'gpt-4o', input_tokens => 10, output_tokens => 5,
         model_version => 'gpt-4o-2024-08-06', user_query_length => 120, ai_response_length => 840,
         complexity => 'high', ip_address => '203.0.113.7', user_agent => 'Mozilla/5.0 (X11)',
         conversation_id => 'c1', document_id => 'd1') AS e1 \gset
SELECT results_eq(format($$SELECT model_version, user_query_length, ai_response_length, complexity,
                                  ip_address, user_agent FROM analytics.chat_events WHERE id = %s$$, :e1),
  $$VALUES ('gpt-4o-2024-08-06', 120, 840, 'high', '203.0.113.7'::inet, 'Mozilla/5.0 (X11)')$$,
  'record_chat_event stores the six columns');
SELECT analytics.record_chat_event('u1', 'gpt-4o', input_tokens => 1) AS e2 \gset
SELECT results_eq(format($$SELECT model_version, user_query_length, ai_response_length, complexity,
                                  ip_address, user_agent FROM analytics.chat_events WHERE id = %s$$, :e2),
  $$VALUES (NULL::text, NULL::integer, NULL::integer, NULL::text, NULL::inet, NULL::text)$$,
  'without them: NULL (unknown), not 0');

-- The batch takes them as keys.
SELECT analytics.record_chat_events('[{"user_id": "u2", "model": "gpt-4o", "input_tokens": 3,
    "model_version": "v7", "user_query_length": 11, "ai_response_length": 22, "complexity": "low",
    "ip_address": "2001:db8::1", "user_agent": "curl/8.0"}]') AS e3 \gset
SELECT results_eq(format($$SELECT model_version, user_query_length, ai_response_length, complexity,
                                  ip_address, user_agent FROM analytics.chat_events WHERE id = %s$$, :e3),
  $$VALUES ('v7', 11, 22, 'low', '2001:db8::1'::inet, 'curl/8.0')$$,
  'record_chat_events takes them as keys');
SELECT throws_ok($$SELECT analytics.record_chat_events('[{"user_id": "u2", "model": "gpt-4o", "ip_address": "not an address"}]')$$,
  '22P02', NULL, 'a batch ip_address that is not an address is refused');

-- Admission: start_request takes what is known before the call,
-- complete_request what is known after; what it does not give is kept.
-- (u3 on pro: the default plan, free, admits only the models it lists.)
SELECT analytics.subscribe('u3', 'pro') > 0 AS u3_on_pro \gset
SELECT event_id AS p1 FROM analytics.start_request('u3', 'gpt-4o', 100, model_version => 'v1',
         user_query_length => 50, complexity => 'medium', ip_address => '198.51.100.1',
         user_agent => 'app/1.0') \gset
SELECT results_eq(format($$SELECT status, model_version, user_query_length, ai_response_length, complexity,
                                  ip_address, user_agent FROM analytics.chat_events WHERE id = %s$$, :p1),
  $$VALUES ('pending', 'v1', 50, NULL::integer, 'medium', '198.51.100.1'::inet, 'app/1.0')$$,
  'start_request stores what is known before the call');
SELECT is((analytics.complete_request(:p1, input_tokens => 40, ai_response_length => 300)).status_out,
  'completed', 'complete_request settles');
SELECT results_eq(format($$SELECT model_version, user_query_length, ai_response_length FROM analytics.chat_events WHERE id = %s$$, :p1),
  $$VALUES ('v1', 50, 300)$$, 'complete_request adds the response length and keeps the model version');
SELECT event_id AS p2 FROM analytics.start_request('u3', 'gpt-4o', 100) \gset
SELECT is((analytics.complete_request(:p2, input_tokens => 40, model_version => 'v2')).status_out,
  'completed', 'complete_request with a model version');
SELECT results_eq(format($$SELECT model_version, ai_response_length FROM analytics.chat_events WHERE id = %s$$, :p2),
  $$VALUES ('v2', NULL::integer)$$, 'the version the provider reported at the end is stored');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'counters still equal the raw log');

-- Checks: specific SQLSTATEs, nothing written.
SELECT count(*) AS before FROM analytics.chat_events \gset
SELECT throws_ok($$SELECT analytics.record_chat_event('u1', 'gpt-4o', user_query_length => -1)$$,
  '22023', 'user_query_length must be between 0 and 100000000', 'negative query length');
SELECT throws_ok($$SELECT analytics.record_chat_event('u1', 'gpt-4o', ai_response_length => 100000001)$$,
  '22023', 'ai_response_length must be between 0 and 100000000', 'response length beyond the limit');
SELECT throws_ok($$SELECT analytics.record_chat_event('u1', 'gpt-4o', complexity => '')$$,
  '22023', 'complexity must not be empty', 'empty complexity');
SELECT throws_ok($$SELECT analytics.record_chat_event('u1', 'gpt-4o', model_version => repeat('v', 129))$$,
  '22001', 'model_version is too long', 'model version beyond 128 bytes');
SELECT throws_ok($$SELECT analytics.record_chat_event('u1', 'gpt-4o', user_agent => repeat('a', 1025))$$,
  '22001', 'user_agent is too long', 'user agent beyond 1024 bytes');
SELECT throws_ok($$SELECT analytics.start_request('u3', 'gpt-4o', 1, user_query_length => -5)$$,
  '22023', 'user_query_length must be between 0 and 100000000', 'start_request checks the query length');
SELECT throws_ok($$SELECT analytics.complete_request(1, ai_response_length => -5)$$,
  '22023', 'ai_response_length must be between 0 and 100000000', 'complete_request checks the response length');
SELECT is((SELECT count(*) FROM analytics.chat_events), :before::bigint, 'no refused call wrote an event');

-- Payload retention clears the address and the client with the free text.
SET usage_analytics.payload_retention_days = 30;
SELECT analytics.record_chat_event('u4', 'gpt-4o', input_tokens => 1, ip_address => '192.0.2.9',
         user_agent => 'old client', occurred_at => now() - interval '40 days') AS old_e \gset
SELECT results_eq(format($$SELECT ip_address, user_agent FROM analytics.chat_events WHERE id = %s$$, :old_e),
  $$VALUES (NULL::inet, NULL::text)$$, 'an event recorded already past payload retention stores neither');
RESET usage_analytics.payload_retention_days;
SELECT analytics.record_chat_event('u4', 'gpt-4o', input_tokens => 1, ip_address => '192.0.2.10',
         user_agent => 'older client', occurred_at => now() - interval '50 days') AS older_e \gset
SET usage_analytics.payload_retention_days = 30;
SELECT ok(analytics.clear_payloads() >= 1, 'clear_payloads clears older events');
SELECT results_eq(format($$SELECT ip_address, user_agent FROM analytics.chat_events WHERE id = %s$$, :older_e),
  $$VALUES (NULL::inet, NULL::text)$$, 'their address and client too');
SELECT results_eq(format($$SELECT ip_address FROM analytics.chat_events WHERE id = %s$$, :e1),
  $$VALUES ('203.0.113.7'::inet)$$, 'recent events keep theirs');
RESET usage_analytics.payload_retention_days;

-- The raw log's everyday questions read an index of the month.
SELECT analytics.ensure_partitions(1) >= 0 AS partitions \gset
SET LOCAL enable_seqscan = off;
SELECT ok(EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'analytics' AND tablename = 'chat_events_default'
                     AND indexdef LIKE '%(conversation_id, occurred_at) WHERE (conversation_id IS NOT NULL)'),
  'every partition has the conversation lookup index');
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; p text := '';
BEGIN
  FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP p := p || r || E'\n'; END LOOP;
  RETURN p;
END $$;
SELECT alike(pg_temp.plan_of($$SELECT * FROM analytics.chat_events WHERE conversation_id = 'c1' ORDER BY occurred_at$$),
  '%Index Scan using chat_events_default_conversation_id_occurred_at_idx%', 'one conversation''s events: its index, no partition scanned whole');
SELECT alike(pg_temp.plan_of($$SELECT * FROM analytics.chat_events WHERE document_id = 'd1'
                                  AND occurred_at > now() - interval '7 days' ORDER BY occurred_at DESC LIMIT 20$$),
  '%Index Scan Backward using chat_events_default_document_id_occurred_at_idx%', 'one document''s recent events: its index, no partition scanned whole');
SELECT pg_temp.plan_of($$SELECT * FROM analytics.chat_events WHERE status = 'failed'
                           AND occurred_at > now() - interval '1 day' ORDER BY occurred_at DESC LIMIT 50$$) AS errplan \gset
SELECT ok(:'errplan' NOT LIKE '%Seq Scan%' AND :'errplan' NOT LIKE '%Filter: (status%',
  'recent errors: the failed events'' index, no partition scanned whole');
SELECT ok((SELECT count(*) FROM pg_indexes WHERE schemaname = 'analytics' AND tablename LIKE 'chat_events_2%'
            AND indexdef LIKE '%WHERE (status = ''failed''::text)') >= 1,
  'a month made by ensure_partitions has them too');

SELECT * FROM finish();
ROLLBACK;
