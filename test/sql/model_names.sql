\set ECHO none
-- Model names as providers and gateways send them: dated and prefixed
-- names price through the price book (exact entry, then alias, then the
-- name without a gateway prefix, then also without a date suffix); the
-- event keeps the name as sent and the priced entry in priced_model.
\i test/setup.psql
SELECT plan(27);

INSERT INTO analytics.model_prices (provider, model, effective_from, input_per_mtok,
    cached_input_per_mtok, cache_write_per_mtok, output_per_mtok)
VALUES ('openai', 'gpt-4o-2024-11-20', '2024-01-01', 7, 7, 7, 7),
       ('bedrock', 'anthropic.claude-3-5-sonnet-20241022-v2:0', '2024-01-01', 6, 0.6, 7.5, 30),
       ('left', 'shared-m', '2024-01-01', 1, 1, 1, 1),
       ('right', 'shared-m', '2024-01-01', 2, 2, 2, 2),
       ('late', 'late-m', '2030-01-01', 1, 1, 1, 1);

CREATE FUNCTION pg_temp.ev(id bigint) RETURNS text LANGUAGE sql AS $$
  SELECT format('%s|%s|%s|%s|%s', e.model, e.provider, e.priced_model, trim_scale(e.cost), e.cost_source)
    FROM analytics.chat_events e WHERE e.id = $1 $$;

-- The exact case is unchanged: priced by its own entry, priced_model NULL.
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'gpt-4o', input_tokens => 1000000)),
  'gpt-4o|openai||2.5|computed', 'a price-book name prices itself; priced_model stays NULL');

-- Dated names.
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'gpt-4o-2024-08-06', input_tokens => 1000000)),
  'gpt-4o-2024-08-06|openai|gpt-4o|2.5|computed', 'gpt-4o-2024-08-06 prices as gpt-4o, keeps its name');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'claude-sonnet-4-20250514', output_tokens => 1000000)),
  'claude-sonnet-4-20250514|anthropic|claude-sonnet-4|15|computed', 'a -YYYYMMDD suffix');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'claude-sonnet-4@20250514', output_tokens => 1000000)),
  'claude-sonnet-4@20250514|anthropic|claude-sonnet-4|15|computed', 'an @YYYYMMDD suffix (Vertex)');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'gpt-4o-2024-11-20', input_tokens => 1000000)),
  'gpt-4o-2024-11-20|openai||7|computed', 'an exact price-book entry wins over the date rule');

-- Prefixed names.
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'openai/gpt-4o', input_tokens => 1000000)),
  'openai/gpt-4o|openai|gpt-4o|2.5|computed', 'openai/gpt-4o prices as gpt-4o');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'anthropic/claude-sonnet-4-20250514', output_tokens => 1000000)),
  'anthropic/claude-sonnet-4-20250514|anthropic|claude-sonnet-4|15|computed', 'prefix and date together');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0', output_tokens => 1000000)),
  'bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0|bedrock|anthropic.claude-3-5-sonnet-20241022-v2:0|30|computed',
  'bedrock/<model id> prices as the Bedrock entry');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'openrouter/right/shared-m', input_tokens => 1000000)),
  'openrouter/right/shared-m|right|shared-m|2|computed', 'the segment before the model names the provider tried first');
SELECT throws_ok($$SELECT analytics.record_chat_event('n1', 'gateway/shared-m')$$, '22023',
  'model "gateway/shared-m" is priced under more than one provider', 'a prefix that names no provider leaves an ambiguous name ambiguous');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'gateway/shared-m', provider => 'left', input_tokens => 1000000)),
  'gateway/shared-m|left|shared-m|1|computed', 'which provider resolves');

-- Aliases: exact names, before the rules, after the price book.
INSERT INTO analytics.model_aliases (alias, provider, model) VALUES
  ('house-model', 'openai', 'gpt-4o-mini'),
  ('gpt-4o-2024-05-13', 'openai', 'gpt-4.1'),
  ('gpt-4o', 'anthropic', 'claude-sonnet-4'),
  ('stale', 'openai', 'no-such-model');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'house-model', input_tokens => 1000000)),
  'house-model|openai|gpt-4o-mini|0.15|computed', 'an alias prices as its entry');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'gpt-4o-2024-05-13', input_tokens => 1000000)),
  'gpt-4o-2024-05-13|openai|gpt-4.1|2|computed', 'an alias wins over the date rule');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'gpt-4o', input_tokens => 1000000)),
  'gpt-4o|openai||2.5|computed', 'the price book wins over an alias');
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'vendor/house-model', input_tokens => 1000000)),
  'vendor/house-model|openai|gpt-4o-mini|0.15|computed', 'a prefixed alias');
SELECT throws_ok($$SELECT analytics.record_chat_event('n1', 'house-model', provider => 'anthropic')$$, '42704',
  'unknown model "house-model"', 'an alias of another provider than the one named does not apply');

-- Unknown names fail as before (42704, same message).
SELECT throws_ok($$SELECT analytics.record_chat_event('n1', 'gpt-4o-2024-13-45')$$, '42704',
  'unknown model "gpt-4o-2024-13-45"', 'not a date: unknown');
SELECT throws_ok($$SELECT analytics.record_chat_event('n1', 'nobody/nothing-20240101')$$, '42704',
  'unknown model "nobody/nothing-20240101"', 'nothing matches: unknown');
SELECT throws_ok($$SELECT analytics.record_chat_event('n1', 'stale')$$, '42704',
  'unknown model "stale"', 'an alias to an entry without a price: unknown');
SELECT throws_ok($$SELECT analytics.record_chat_event('n1', 'late-m-20240101', occurred_at => '2025-01-01')$$, '42704',
  'unknown model "late-m-20240101"', 'a normalised name without a price in force yet: unknown');

-- A provided cost: the name as sent, the provider from the price book, nothing priced.
SELECT is(pg_temp.ev(analytics.record_chat_event('n1', 'openai/gpt-4o', cost => 0.5)),
  'openai/gpt-4o|openai||0.5|provided', 'a provided cost records no priced_model');

-- price_request, start/complete, the batch and corrections agree.
SELECT results_eq($$SELECT provider, cost_input, priced_model
                      FROM analytics.price_request('openai/gpt-4o-2024-08-06', NULL, now(), 1000000, 0, 0, 0)$$,
  $$VALUES ('openai'::text, 2.5000000000::numeric, 'gpt-4o'::text)$$, 'price_request resolves as the write path');
SELECT analytics.subscribe('n2', 'enterprise') > 0 AS subscribed \gset
SELECT event_id AS started FROM analytics.start_request('n2', 'gpt-4o-2024-08-06', estimated_tokens => 10) \gset
SELECT is((SELECT cost_out FROM analytics.complete_request(:started, input_tokens => 1000000)), 2.5000000000::numeric,
  'complete_request prices a dated name as record_chat_event');
SELECT is(pg_temp.ev(:started), 'gpt-4o-2024-08-06|openai|gpt-4o|2.5|computed',
  'and records the priced model');
SELECT is((SELECT pg_temp.ev(id) FROM analytics.record_chat_events(
             '[{"user_id": "n1", "model": "anthropic/claude-sonnet-4", "output_tokens": 1000000}]') id),
  'anthropic/claude-sonnet-4|anthropic|claude-sonnet-4|15|computed', 'record_chat_events prices prefixed names');
SELECT analytics.record_chat_event('n1', 'openai/gpt-4o-mini', input_tokens => 10) AS corr \gset
SELECT is((SELECT (c.after->>'cost')::numeric FROM analytics.correct_event(:corr, 'recount', input_tokens => 1000000) c),
  0.1500000000::numeric, 'a correction prices the name as sent again through the same entry');
SELECT is((SELECT priced_model FROM analytics.chat_events WHERE id = :corr), 'gpt-4o-mini', 'and keeps priced_model');

SELECT * FROM finish();
ROLLBACK;
