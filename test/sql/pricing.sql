\set ECHO none
\i test/setup.psql
SELECT plan(10);

INSERT INTO analytics.model_prices (provider, model, effective_from, input_per_mtok,
    cached_input_per_mtok, cache_write_per_mtok, output_per_mtok)
VALUES ('acme', 'acme-1', '2025-01-01', 3, 0.3, 3.75, 15),
       ('acme', 'acme-1', '2025-06-01', 1, 0.1, 1.25, 5),
       ('other', 'twin', '2025-01-01', 1, 1, 1, 1),
       ('another', 'twin', '2025-01-01', 2, 2, 2, 2);

-- Exact numeric cost from the price in force at occurred_at.
SELECT analytics.record_chat_event('p1', 'acme-1', input_tokens => 1234567, cached_input_tokens => 7654321,
  cache_write_tokens => 1111, output_tokens => 98765, occurred_at => '2025-03-01') AS early \gset
SELECT results_eq(
  format('SELECT cost, cost_input, cost_cached_input, cost_cache_write, cost_output, cache_savings, cost_source
            FROM analytics.chat_events WHERE id = %s', :early),
  $$VALUES (7.48563855::numeric, 3.703701::numeric, 2.2962963::numeric, 0.00416625::numeric,
            1.48147500::numeric, 20.6666667::numeric, 'computed')$$,
  'cost per bucket and total, exact, at the old price');
SELECT analytics.record_chat_event('p1', 'acme-1', input_tokens => 1000000, output_tokens => 1000000,
  occurred_at => '2025-06-01') AS late \gset
SELECT is((SELECT cost FROM analytics.chat_events WHERE id = :late), 6::numeric,
  'the new price applies from its effective_from');

-- Cost is frozen: a later price change does not touch recorded events.
UPDATE analytics.model_prices SET input_per_mtok = 100 WHERE model = 'acme-1';
SELECT is((SELECT cost FROM analytics.chat_events WHERE id = :late), 6::numeric, 'recorded cost is frozen');
SELECT is((SELECT sum(cost) FROM analytics.usage_counters WHERE user_id = 'p1'), 13.48563855::numeric,
  'counters hold the frozen costs');

-- Provided cost.
SELECT analytics.record_chat_event('p2', 'in-house-llm', cost => 0.125) AS provided \gset
SELECT results_eq(format('SELECT cost, cost_source, provider, cost_input FROM analytics.chat_events WHERE id = %s', :provided),
  $$VALUES (0.125::numeric, 'provided', NULL::text, NULL::numeric)$$,
  'a provided cost is recorded as provided, even for a model without price');
SELECT analytics.record_chat_event('p2', 'gpt-4o', input_tokens => 1000000, cost => 0.5) AS over \gset
SELECT results_eq(format('SELECT cost, cost_source, provider FROM analytics.chat_events WHERE id = %s', :over),
  $$VALUES (0.5::numeric, 'provided', 'openai')$$,
  'a provided cost wins over the price book, which still names the provider');

-- The same model name under two providers.
SELECT throws_ok($$SELECT analytics.record_chat_event('p3', 'twin')$$, '22023',
  'model "twin" is priced under more than one provider', 'ambiguous model without provider');
SELECT analytics.record_chat_event('p3', 'twin', provider => 'another', input_tokens => 1000000) AS twin \gset
SELECT is((SELECT cost FROM analytics.chat_events WHERE id = :twin), 2::numeric, 'provider picks the price');

-- Before any price is in force.
SELECT throws_ok($$SELECT analytics.record_chat_event('p3', 'acme-1', occurred_at => '2024-12-31')$$, '42704',
  'unknown model "acme-1"', 'no price in force yet');

SELECT throws_ok($$INSERT INTO analytics.model_prices VALUES ('x', 'y', now(), -1, 0, 0, 0)$$, '23514', NULL,
  'negative prices are refused');

SELECT * FROM finish();
ROLLBACK;
