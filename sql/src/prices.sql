/*-------------------------------------------------------------------------
 * prices.sql
 *    The price book (model_prices), model aliases, the price of a request,
 *    and the import of a public price catalog (LiteLLM's format).
 *-------------------------------------------------------------------------
 */

/* ------------------------------------------------------------------------
 * Price book
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.model_prices (
  provider              text NOT NULL CHECK (provider <> ''),
  model                 text NOT NULL CHECK (model <> ''),
  effective_from        timestamptz NOT NULL,
  input_per_mtok        numeric NOT NULL,
  cached_input_per_mtok numeric NOT NULL,
  cache_write_per_mtok  numeric NOT NULL,
  output_per_mtok       numeric NOT NULL,
  currency              text NOT NULL DEFAULT 'USD' CHECK (currency = 'USD'),
  builtin               boolean NOT NULL DEFAULT false,
  PRIMARY KEY (provider, model, effective_from),
  CONSTRAINT model_prices_rates_valid CHECK (
    input_per_mtok >= 0 AND input_per_mtok < 1000000 AND
    cached_input_per_mtok >= 0 AND cached_input_per_mtok < 1000000 AND
    cache_write_per_mtok >= 0 AND cache_write_per_mtok < 1000000 AND
    output_per_mtok >= 0 AND output_per_mtok < 1000000)
);
CREATE INDEX model_prices_model_idx
  ON analytics.model_prices (model, provider, effective_from DESC);
COMMENT ON TABLE analytics.model_prices IS
  'Price per million tokens for each ledger bucket, per provider and model, in force from effective_from until the next row';

SELECT pg_catalog.pg_extension_config_dump('analytics.model_prices', 'WHERE NOT builtin');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.model_prices', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.model_prices', 'INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

/*
 * Model names as providers and gateways send them.  The write path prices
 * a name (subject.c, ua_price_request) by the first of:
 *   1. the price book under that exact name;
 *   2. an alias (analytics.model_aliases, exact name -> provider and model);
 *   3. the name normalised: without a gateway prefix ("openai/gpt-4o",
 *      "bedrock/anthropic.claude-..."; the segment before the model names
 *      the provider tried first), then also without a trailing date
 *      ("-2024-08-06", "-20241022", "@20240620", optionally followed by a
 *      version "-v2:0"), each tried in the price book, then as an alias.
 * The event keeps the name as sent in model and, when another price-book
 * entry priced it, that entry's name in priced_model.
 */
CREATE TABLE analytics.model_aliases (
  alias       text PRIMARY KEY CHECK (alias <> '' AND pg_catalog.octet_length(alias) <= 128),
  provider    text NOT NULL CHECK (provider <> ''),
  model       text NOT NULL CHECK (model <> ''),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE analytics.model_aliases IS
  'Model names as sent (exact) priced as a price-book entry (provider, model): tried after the price book''s own names, before the normalising rules';
SELECT pg_catalog.pg_extension_config_dump('analytics.model_aliases', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.model_aliases', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.model_aliases', 'INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

/*
 * Switching providers and models off, and provider rate limits (seed 004's
 * aiProviders): one row per provider (model '*': every model of it) or per
 * model of a provider (the price-book name that prices it).  Admission
 * (start_request, check_quota with a model) refuses a request whose
 * provider or model is not active, and admits at most requests_per_minute
 * / requests_per_day requests of a provider or model across all users, in
 * fixed UTC minutes and days (counted in analytics.provider_counters).
 * Recording (record_chat_event, complete_request) ignores this table:
 * what happened is still logged and priced from model_prices.
 */
CREATE TABLE analytics.provider_limits (
  provider            text NOT NULL CHECK (provider <> ''),
  model               text NOT NULL DEFAULT '*' CHECK (model <> ''),
  active              boolean NOT NULL DEFAULT true,
  requests_per_minute bigint CHECK (requests_per_minute >= 0),
  requests_per_day    bigint CHECK (requests_per_day >= 0),
  PRIMARY KEY (provider, model)
);
COMMENT ON TABLE analytics.provider_limits IS
  'Per provider (model ''*'') or price-book model: whether start_request admits it (active) and how many requests it admits per UTC minute and day across all users (NULL = no limit)';
SELECT pg_catalog.pg_extension_config_dump('analytics.provider_limits', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.provider_limits', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.provider_limits', 'INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

-- price_request: the same lookup as the write path, and which price-book
-- model priced the request.
\ir functions/price_request.sql

/*
 * Importing a public price catalog in LiteLLM's
 * model_prices_and_context_window.json format: keys are model names as
 * LiteLLM's callers send them, each entry has litellm_provider, mode and
 * per-token USD costs.  Chat, completion and responses entries with an
 * input and an output cost become price-book rows (provider =
 * litellm_provider, model = the key as is) in force from effective_from,
 * per million tokens exactly (numeric); cache reads and writes without a
 * cost of their own are priced as input.
 */
\ir functions/litellm_rate.sql

\ir functions/import_litellm_prices.sql

-- Public list prices in USD per million tokens, for illustration: check
-- your providers' current prices.  OpenAI bills cache writes as input.
INSERT INTO analytics.model_prices (provider, model, effective_from, input_per_mtok,
    cached_input_per_mtok, cache_write_per_mtok, output_per_mtok, builtin) VALUES
  ('openai',    'gpt-4o',            '2024-01-01', 2.50, 1.25,  2.50, 10.00, true),
  ('openai',    'gpt-4o-mini',       '2024-01-01', 0.15, 0.075, 0.15,  0.60, true),
  ('openai',    'gpt-4.1',           '2024-01-01', 2.00, 0.50,  2.00,  8.00, true),
  ('anthropic', 'claude-sonnet-4',   '2024-01-01', 3.00, 0.30,  3.75, 15.00, true),
  ('anthropic', 'claude-3-5-haiku',  '2024-01-01', 0.80, 0.08,  1.00,  4.00, true),
  ('google',    'gemini-2.0-flash',  '2024-01-01', 0.10, 0.025, 0.10,  0.40, true);
