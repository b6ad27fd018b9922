CREATE OR REPLACE FUNCTION analytics.api_key_generate(environment text,
    OUT api_key text, OUT key_prefix text, OUT key_hash bytea)
  RETURNS record
  LANGUAGE C VOLATILE STRICT
  AS 'MODULE_PATHNAME', 'ua_api_key_generate';
COMMENT ON FUNCTION analytics.api_key_generate(text) IS
  'A new API key (ua_live_ or ua_test_ and 40 base62 characters from pg_strong_random), its prefix and its SHA-256 (internal to create_api_key and rotate_api_key)';
REVOKE ALL ON FUNCTION analytics.api_key_generate(text) FROM PUBLIC;
