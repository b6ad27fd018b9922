CREATE OR REPLACE FUNCTION analytics.price_request(
    p_model text, p_provider text, p_at timestamptz,
    p_input bigint, p_cached bigint, p_write bigint, p_output bigint,
    OUT provider text, OUT cost_input numeric, OUT cost_cached_input numeric,
    OUT cost_cache_write numeric, OUT cost_output numeric, OUT cache_savings numeric,
    OUT priced_model text)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE C STABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_price_request_srf';
COMMENT ON FUNCTION analytics.price_request(text, text, timestamptz, bigint, bigint, bigint, bigint) IS
  'Per-bucket cost of a request at the price in force at a time, and the price-book model that priced it (aliases and normalised names as record_chat_event); at most two rows (two providers: ambiguous)';
REVOKE ALL ON FUNCTION analytics.price_request(text, text, timestamptz, bigint, bigint, bigint, bigint) FROM PUBLIC;
