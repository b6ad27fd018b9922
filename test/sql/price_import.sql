\set ECHO none
-- Importing a public price catalog in LiteLLM's
-- model_prices_and_context_window.json format (test/fixtures: entries
-- written for this test in that format).
\i test/setup.psql
SELECT plan(26);
\set catalog `cat test/fixtures/litellm_prices.json`

SELECT is(analytics.import_litellm_prices(:'catalog', '2025-02-01'), 6,
  'chat, completion and responses entries with an input and an output price are imported');
SELECT results_eq($$
  SELECT provider, model, effective_from, input_per_mtok, cached_input_per_mtok, cache_write_per_mtok, output_per_mtok, builtin
    FROM analytics.model_prices WHERE provider LIKE 'fx%' ORDER BY provider, model$$,
  $$VALUES ('fxai', 'fx-chat-1', '2025-02-01'::timestamptz, 2.5, 1.25, 2.5, 10.0, false),
           ('fxai', 'fx-chat-1-2025-01-15', '2025-02-01', 1.1, 1.1, 1.1, 4.4, false),
           ('fxai', 'fx-deep-research', '2025-02-01', 10, 10, 10, 40, false),
           ('fxai', 'fx-instruct', '2025-02-01', 1.5, 1.5, 1.5, 2, false),
           ('fxcloud', 'fxcloud/fx-chat-1', '2025-02-01', 3, 0.3, 3.75, 15, false),
           ('fxlocal', 'fx-zero', '2025-02-01', 0, 0, 0, 0, false)$$,
  'per token to per million exactly; keys as is; cache reads and writes without a cost of their own at the input price');
SELECT is((SELECT string_agg(output_per_mtok::text, ' ' ORDER BY model) FROM analytics.model_prices WHERE provider = 'fxai'),
  '10 4.4 40 2', 'no float residue, no trailing zeros (1e-05 per token is 10 per million)');
SELECT is_empty($$SELECT 1 FROM analytics.model_prices WHERE model IN ('sample_spec', 'fx-embed-small', 'fx-image-1', 'fx-free-preview')$$,
  'sample_spec, embeddings, images and entries without prices are skipped');

-- Idempotent.
SELECT is(analytics.import_litellm_prices(:'catalog', '2025-02-01'), 0, 'the same catalog and date again: nothing to do');
SELECT is(analytics.import_litellm_prices(:'catalog', '2025-03-01'), 0, 'a later date with the same prices adds no row');
SELECT is((SELECT count(*) FROM analytics.model_prices WHERE provider LIKE 'fx%'), 6::bigint, 'still six rows');
SELECT is(analytics.import_litellm_prices(jsonb_set(:'catalog', '{fx-chat-1,output_cost_per_token}', '8e-06'), '2025-04-01'), 1,
  'a changed price is a new row from its date');
SELECT results_eq($$SELECT effective_from, output_per_mtok FROM analytics.model_prices WHERE model = 'fx-chat-1' ORDER BY 1$$,
  $$VALUES ('2025-02-01'::timestamptz, 10.0), ('2025-04-01', 8)$$, 'the earlier price stays in force before it');
SELECT is(analytics.import_litellm_prices(jsonb_set(:'catalog', '{fx-chat-1,output_cost_per_token}', '9e-06'), '2025-04-01'), 1,
  'the same date with another price replaces that row');
SELECT is((SELECT output_per_mtok FROM analytics.model_prices WHERE model = 'fx-chat-1' AND effective_from = '2025-04-01'), 9::numeric,
  'replaced');
SELECT is(analytics.import_litellm_prices('{"p-only": {"litellm_provider": "px", "mode": "chat", "input_cost_per_token": "1e-06", "output_cost_per_token": 2e-06},
                                            "q-only": {"litellm_provider": "qx", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}',
                                          '2025-02-01', providers => '{px}'), 1, 'providers limits the import; a numeric string is a number');

-- The imported prices price events, through the name rules too.
SELECT analytics.record_chat_event('i1', 'fxcloud/fx-chat-1', input_tokens => 1000000, occurred_at => '2025-03-01') AS e1 \gset
SELECT is((SELECT trim_scale(cost) || ' ' || provider || ' ' || COALESCE(priced_model, '-') FROM analytics.chat_events WHERE id = :e1),
  '3 fxcloud -', 'a prefixed LiteLLM key is a price-book name');
SELECT analytics.record_chat_event('i1', 'fx-chat-1-2025-02-20', output_tokens => 1000000, occurred_at => '2025-03-01') AS e2 \gset
SELECT is((SELECT trim_scale(cost) || ' ' || priced_model FROM analytics.chat_events WHERE id = :e2),
  '10 fx-chat-1', 'a dated name not in the catalog prices as its undated entry');

-- Validation: nothing is written, the message names the bad key.
SELECT throws_ok($$SELECT analytics.import_litellm_prices(NULL)$$, '23502', NULL, 'a NULL catalog');
SELECT throws_ok($$SELECT analytics.import_litellm_prices('[]')$$, '22023',
  'catalog must be a JSON object keyed by model name, not array', 'a catalog that is not an object');
SELECT throws_ok($$SELECT analytics.import_litellm_prices('{"m": 5}')$$, '22023',
  'entry "m" must be a JSON object, not number', 'an entry that is not an object');
SELECT throws_ok($$SELECT analytics.import_litellm_prices('{"m": {"mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}}')$$, '22023',
  'entry "m": litellm_provider must be a non-empty string', 'an entry without a provider');
SELECT throws_ok($$SELECT analytics.import_litellm_prices('{"m": {"mode": 1, "litellm_provider": "x"}}')$$, '22023',
  'entry "m": mode must be a string', 'a mode that is not a string');
SELECT throws_ok($$SELECT analytics.import_litellm_prices('{"m": {"mode": "chat", "litellm_provider": "x", "input_cost_per_token": true, "output_cost_per_token": 1e-06}}')$$, '22023',
  'entry "m": input_cost_per_token must be a number, not boolean', 'a cost of the wrong type');
SELECT throws_ok($$SELECT analytics.import_litellm_prices('{"m": {"mode": "chat", "litellm_provider": "x", "input_cost_per_token": 1e-06, "output_cost_per_token": "cheap"}}')$$, '22P02',
  'entry "m": output_cost_per_token is not a number: "cheap"', 'a cost that is not a number');
SELECT throws_ok($$SELECT analytics.import_litellm_prices('{"a-good": {"mode": "chat", "litellm_provider": "x", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
                                                           "b-bad": {"mode": "chat", "litellm_provider": "x", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06, "cache_read_input_token_cost": -1e-07}}')$$, '22023',
  'entry "b-bad": cache_read_input_token_cost must be at least 0 and below 1 USD per token, not -0.0000001', 'a negative cost');
SELECT is_empty($$SELECT 1 FROM analytics.model_prices WHERE model = 'a-good'$$, 'an error writes nothing, not even the good entries before it');
SELECT throws_ok(format('SELECT analytics.import_litellm_prices(%L)', jsonb_build_object(repeat('x', 129), '{}'::jsonb)), '22001',
  NULL, 'a model name longer than 128 bytes');
SELECT throws_ok($$SELECT analytics.import_litellm_prices('{}', 'infinity')$$, '22008', NULL, 'an infinite effective_from');

-- Admins only.
CREATE ROLE ua_imp_app;
CREATE ROLE ua_imp_admin;
SELECT analytics.grant_app_backend('ua_imp_app') \gset
SELECT analytics.grant_admin('ua_imp_admin') \gset
SELECT is(ARRAY[pg_temp.as_role('ua_imp_app', $$SELECT analytics.import_litellm_prices('{}')$$),
                pg_temp.as_role('ua_imp_admin', $$SELECT analytics.import_litellm_prices('{"r-admin": {"litellm_provider": "rx", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}}', '2025-01-01')$$)],
  ARRAY['ERROR 42501', '1'], 'an app backend may not import; an admin may');

SELECT * FROM finish();
ROLLBACK;
