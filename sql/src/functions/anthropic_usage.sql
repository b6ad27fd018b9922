CREATE OR REPLACE FUNCTION analytics.anthropic_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF jsonb_typeof(usage) <> 'object' THEN
    RAISE EXCEPTION 'usage must be a JSON object, not %', jsonb_typeof(usage) USING ERRCODE = '22023';
  END IF;
  -- Anthropic's input_tokens already exclude cache reads and writes.
  input_tokens := analytics.usage_tokens(usage, '{input_tokens}');
  cached_input_tokens := analytics.usage_tokens(usage, '{cache_read_input_tokens}');
  cache_write_tokens := analytics.usage_tokens(usage, '{cache_creation_input_tokens}');
  output_tokens := analytics.usage_tokens(usage, '{output_tokens}');
  reasoning_tokens := 0;
END
$$;
COMMENT ON FUNCTION analytics.anthropic_usage(jsonb) IS
  'Maps an Anthropic usage object onto the token ledger: input_tokens exclude cache reads and writes';
REVOKE ALL ON FUNCTION analytics.anthropic_usage(jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.anthropic_usage(jsonb)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
