\set ECHO none
-- Provider usage objects onto the disjoint ledger (SPEC §2: input excludes
-- cache reads and writes, reasoning is part of output): Gemini, Bedrock
-- Converse, the OpenAI Responses API and OpenTelemetry GenAI attributes.
-- Every bad field is 22023 with a message naming it.
\i test/setup.psql
SELECT plan(47);


-- Gemini: promptTokenCount includes cachedContentTokenCount; thoughts are
-- billed as output beside the candidates; tool-use prompts are input.
SELECT is((SELECT u::text FROM analytics.gemini_usage('{"promptTokenCount": 1200, "cachedContentTokenCount": 800,
            "candidatesTokenCount": 300, "thoughtsTokenCount": 50, "totalTokenCount": 1550}') u),
  '(400,800,0,350,50)', 'gemini: input without the cache, output with the thoughts, reasoning = thoughts');
SELECT is((SELECT u::text FROM analytics.gemini_usage('{"candidates": [], "usageMetadata": {"promptTokenCount": 100,
            "toolUsePromptTokenCount": 20, "candidatesTokenCount": 5, "totalTokenCount": 125}}') u),
  '(120,0,0,5,0)', 'gemini: a whole response; tool-use prompt tokens are input; absent fields are 0');
SELECT is((SELECT u::text FROM analytics.gemini_usage('{"promptTokenCount": 7}') u), '(7,0,0,0,0)', 'gemini: no total, no check');
SELECT throws_ok($$SELECT analytics.gemini_usage('{"promptTokenCount": -1}')$$, '22023',
  'promptTokenCount must not be negative, not -1', 'gemini: negative');
SELECT throws_ok($$SELECT analytics.gemini_usage('{"candidatesTokenCount": 1.5}')$$, '22023',
  'candidatesTokenCount must be an integer, not 1.5', 'gemini: not an integer');
SELECT throws_ok($$SELECT analytics.gemini_usage('{"thoughtsTokenCount": "5"}')$$, '22023',
  'thoughtsTokenCount must be a number, not string', 'gemini: wrong type');
SELECT throws_ok($$SELECT analytics.gemini_usage('{"promptTokenCount": 10, "cachedContentTokenCount": 11}')$$, '22023',
  'cachedContentTokenCount (11) exceeds promptTokenCount (10)', 'gemini: more cached than prompt');
SELECT throws_ok($$SELECT analytics.gemini_usage('{"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 2, "totalTokenCount": 15}')$$, '22023',
  'totalTokenCount (15) is not promptTokenCount + toolUsePromptTokenCount + candidatesTokenCount + thoughtsTokenCount (17)',
  'gemini: inconsistent total');
SELECT throws_ok($$SELECT analytics.gemini_usage('[1]')$$, '22023',
  'usageMetadata must be a JSON object, not array', 'gemini: not an object');

-- Bedrock Converse: inputTokens exclude cache reads and writes; totalTokens counts all four.
SELECT is((SELECT u::text FROM analytics.bedrock_usage('{"inputTokens": 4, "outputTokens": 326, "totalTokens": 29156,
            "cacheReadInputTokens": 0, "cacheWriteInputTokens": 28826}') u),
  '(4,0,28826,326,0)', 'bedrock: cache writes and reads are their own buckets');
SELECT is((SELECT u::text FROM analytics.bedrock_usage('{"output": {"message": {}}, "stopReason": "end_turn",
            "usage": {"inputTokens": 10, "outputTokens": 20, "totalTokens": 530, "cacheReadInputTokens": 500}}') u),
  '(10,500,0,20,0)', 'bedrock: a whole Converse response');
SELECT throws_ok($$SELECT analytics.bedrock_usage('{"inputTokens": -4}')$$, '22023',
  'inputTokens must not be negative, not -4', 'bedrock: negative');
SELECT throws_ok($$SELECT analytics.bedrock_usage('{"outputTokens": 2.25}')$$, '22023',
  'outputTokens must be an integer, not 2.25', 'bedrock: not an integer');
SELECT throws_ok($$SELECT analytics.bedrock_usage('{"cacheReadInputTokens": true}')$$, '22023',
  'cacheReadInputTokens must be a number, not boolean', 'bedrock: wrong type');
SELECT throws_ok($$SELECT analytics.bedrock_usage('{"cacheWriteInputTokens": 1e19}')$$, '22023',
  'cacheWriteInputTokens is out of range: 10000000000000000000', 'bedrock: beyond bigint');
SELECT throws_ok($$SELECT analytics.bedrock_usage('{"inputTokens": 4, "outputTokens": 6, "cacheReadInputTokens": 5, "totalTokens": 10}')$$, '22023',
  'totalTokens (10) is not inputTokens + outputTokens + cacheReadInputTokens + cacheWriteInputTokens (15)', 'bedrock: inconsistent total');

-- OpenAI Responses API: input_tokens include the cached ones, output_tokens the reasoning.
SELECT is((SELECT u::text FROM analytics.openai_responses_usage('{"input_tokens": 2000, "input_tokens_details": {"cached_tokens": 1500},
            "output_tokens": 900, "output_tokens_details": {"reasoning_tokens": 600}, "total_tokens": 2900}') u),
  '(500,1500,0,900,600)', 'responses: cached out of input, reasoning inside output');
SELECT is((SELECT u::text FROM analytics.openai_responses_usage('{"object": "response", "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}}') u),
  '(3,0,0,4,0)', 'responses: a whole response; no details');
SELECT throws_ok($$SELECT analytics.openai_responses_usage('{"output_tokens": -9}')$$, '22023',
  'output_tokens must not be negative, not -9', 'responses: negative');
SELECT throws_ok($$SELECT analytics.openai_responses_usage('{"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0.5}}')$$, '22023',
  'input_tokens_details.cached_tokens must be an integer, not 0.5', 'responses: not an integer');
SELECT throws_ok($$SELECT analytics.openai_responses_usage('{"input_tokens": [1]}')$$, '22023',
  'input_tokens must be a number, not array', 'responses: wrong type');
SELECT throws_ok($$SELECT analytics.openai_responses_usage('{"output_tokens_details": 5}')$$, '22023',
  'output_tokens_details must be a JSON object, not number', 'responses: details of the wrong type');
SELECT throws_ok($$SELECT analytics.openai_responses_usage('{"input_tokens": 10, "input_tokens_details": {"cached_tokens": 11}}')$$, '22023',
  'input_tokens_details.cached_tokens (11) exceeds input_tokens (10)', 'responses: more cached than input');
SELECT throws_ok($$SELECT analytics.openai_responses_usage('{"output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 12}}')$$, '22023',
  'output_tokens_details.reasoning_tokens (12) exceeds output_tokens (10)', 'responses: more reasoning than output');
SELECT throws_ok($$SELECT analytics.openai_responses_usage('{"input_tokens": 10, "output_tokens": 5, "total_tokens": 16}')$$, '22023',
  'total_tokens (16) is not input_tokens + output_tokens (15)', 'responses: inconsistent total');

-- OpenTelemetry GenAI: input_tokens include cache reads and creations, output_tokens reasoning.
SELECT is((SELECT u::text FROM analytics.otel_genai_usage('{"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 200,
            "gen_ai.usage.cache_read.input_tokens": 600, "gen_ai.usage.cache_creation.input_tokens": 100,
            "gen_ai.usage.reasoning.output_tokens": 50, "gen_ai.request.model": "gpt-4o"}') u),
  '(300,600,100,200,50)', 'otel: the cache attributes out of input, reasoning inside output; other attributes ignored');
SELECT is((SELECT u::text FROM analytics.otel_genai_usage('{"name": "chat gpt-4o", "attributes": {"gen_ai.usage.input_tokens": 8, "gen_ai.usage.output_tokens": 2}}') u),
  '(8,0,0,2,0)', 'otel: a span with its attributes');
SELECT throws_ok($$SELECT analytics.otel_genai_usage('{"gen_ai.usage.input_tokens": -1}')$$, '22023',
  'gen_ai.usage.input_tokens must not be negative, not -1', 'otel: negative');
SELECT throws_ok($$SELECT analytics.otel_genai_usage('{"gen_ai.usage.output_tokens": 3.7}')$$, '22023',
  'gen_ai.usage.output_tokens must be an integer, not 3.7', 'otel: not an integer');
SELECT throws_ok($$SELECT analytics.otel_genai_usage('{"gen_ai.usage.cache_read.input_tokens": "12"}')$$, '22023',
  'gen_ai.usage.cache_read.input_tokens must be a number, not string', 'otel: wrong type');
SELECT throws_ok($$SELECT analytics.otel_genai_usage('{"gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_read.input_tokens": 8, "gen_ai.usage.cache_creation.input_tokens": 3}')$$, '22023',
  'gen_ai.usage.cache_read.input_tokens + gen_ai.usage.cache_creation.input_tokens (11) exceed gen_ai.usage.input_tokens (10)',
  'otel: more cache than input');
SELECT throws_ok($$SELECT analytics.otel_genai_usage('{"gen_ai.usage.output_tokens": 1, "gen_ai.usage.reasoning.output_tokens": 2}')$$, '22023',
  'gen_ai.usage.reasoning.output_tokens (2) exceeds gen_ai.usage.output_tokens (1)', 'otel: more reasoning than output');
SELECT throws_ok($$SELECT analytics.otel_genai_usage('"x"')$$, '22023',
  'attributes must be a JSON object, not string', 'otel: not an object');

-- NULL in, NULL out; every figure recordable as is.
SELECT is((SELECT u IS NULL FROM analytics.gemini_usage(NULL) u), true, 'NULL usage maps to NULL');
SELECT analytics.record_chat_event(user_id => 'm1', model => 'gemini-2.0-flash',
         input_tokens => u.input_tokens, cached_input_tokens => u.cached_input_tokens,
         cache_write_tokens => u.cache_write_tokens, output_tokens => u.output_tokens,
         reasoning_tokens => u.reasoning_tokens) AS ev
  FROM analytics.gemini_usage('{"promptTokenCount": 1200, "cachedContentTokenCount": 800, "candidatesTokenCount": 300,
                                "thoughtsTokenCount": 50, "totalTokenCount": 1550}') u \gset
SELECT is((SELECT input_tokens + cached_input_tokens + cache_write_tokens + output_tokens FROM analytics.chat_events WHERE id = :ev),
  1550, 'a recorded Gemini event totals totalTokenCount');
SELECT is((SELECT trim_scale(cost) FROM analytics.chat_events WHERE id = :ev), 0.0002::numeric,
  'and is priced per bucket: 400 input, 800 cached, 350 output');
SELECT is((SELECT u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens
             FROM analytics.bedrock_usage('{"inputTokens": 4, "outputTokens": 326, "totalTokens": 29156, "cacheWriteInputTokens": 28826}') u),
  29156::bigint, 'bedrock: the ledger totals totalTokens');
SELECT is((SELECT u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens
             FROM analytics.openai_responses_usage('{"input_tokens": 2000, "input_tokens_details": {"cached_tokens": 1500}, "output_tokens": 900, "total_tokens": 2900}') u),
  2900::bigint, 'responses: the ledger totals total_tokens');

-- Every kind of role may map usage.
CREATE ROLE ua_map_user;
CREATE ROLE ua_map_app;
SELECT analytics.grant_end_user('ua_map_user') \gset
SELECT analytics.grant_app_backend('ua_map_app') \gset
SELECT is(pg_temp.as_role('ua_map_user', $$SELECT (analytics.otel_genai_usage('{"gen_ai.usage.input_tokens": 3}')).input_tokens$$), '3',
  'an end user may call the mappers');
SELECT is(pg_temp.as_role('ua_map_app', $$SELECT (analytics.bedrock_usage('{"inputTokens": 3}')).input_tokens + (analytics.gemini_usage('{}')).input_tokens
                                              + (analytics.openai_responses_usage('{}')).input_tokens$$), '3',
  'an app backend too');
SELECT is(pg_temp.as_role('ua_map_user', $$SELECT (analytics.gemini_usage('{"promptTokenCount": -2}')).input_tokens$$), 'ERROR 22023',
  'and gets the same errors');

-- The 1.0 mappers validate their fields the same way (they took negative
-- and fractional counts as is).
SELECT throws_ok($$SELECT * FROM analytics.openai_usage('{"prompt_tokens": -5, "completion_tokens": 1}')$$, '22023',
  'prompt_tokens must not be negative, not -5', 'openai_usage: a negative count');
SELECT throws_ok($$SELECT * FROM analytics.openai_usage('{"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 11}}')$$, '22023',
  NULL, 'openai_usage: more cached than prompt tokens');
SELECT throws_ok($$SELECT * FROM analytics.openai_usage('{"input_tokens": 1.5}')$$, '22023',
  NULL, 'openai_usage: a fractional count (Responses API names)');
SELECT throws_ok($$SELECT * FROM analytics.anthropic_usage('{"input_tokens": 10, "output_tokens": -1}')$$, '22023',
  'output_tokens must not be negative, not -1', 'anthropic_usage: a negative count');
SELECT throws_ok($$SELECT * FROM analytics.anthropic_usage('[1]')$$, '22023', NULL, 'anthropic_usage: not an object');
SELECT results_eq($$SELECT * FROM analytics.openai_usage('{"input_tokens": 100, "input_tokens_details": {"cached_tokens": 40}, "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 10}}')$$,
  $$VALUES (60::bigint, 40::bigint, 0::bigint, 30::bigint, 10::bigint)$$, 'openai_usage still maps the Responses API names');

SELECT * FROM finish();
ROLLBACK;
