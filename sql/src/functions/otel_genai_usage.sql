CREATE OR REPLACE FUNCTION analytics.otel_genai_usage(attributes jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  a         jsonb := analytics.usage_object(attributes, 'attributes');
  inp       bigint := analytics.usage_tokens(a, '{gen_ai.usage.input_tokens}');
  outp      bigint := analytics.usage_tokens(a, '{gen_ai.usage.output_tokens}');
  cread     bigint := analytics.usage_tokens(a, '{gen_ai.usage.cache_read.input_tokens}');
  cwrite    bigint := analytics.usage_tokens(a, '{gen_ai.usage.cache_creation.input_tokens}');
  reasoning bigint := analytics.usage_tokens(a, '{gen_ai.usage.reasoning.output_tokens}');
BEGIN
  -- The conventions count cache reads and writes in input_tokens, and
  -- reasoning in output_tokens.
  IF cread + cwrite > inp THEN
    RAISE EXCEPTION 'gen_ai.usage.cache_read.input_tokens + gen_ai.usage.cache_creation.input_tokens (%) exceed gen_ai.usage.input_tokens (%)',
      cread + cwrite, inp USING ERRCODE = '22023',
      DETAIL = 'gen_ai.usage.input_tokens includes the cached tokens.';
  END IF;
  IF reasoning > outp THEN
    RAISE EXCEPTION 'gen_ai.usage.reasoning.output_tokens (%) exceeds gen_ai.usage.output_tokens (%)', reasoning, outp
      USING ERRCODE = '22023', DETAIL = 'gen_ai.usage.output_tokens includes the reasoning tokens.';
  END IF;
  input_tokens := inp - cread - cwrite;
  cached_input_tokens := cread;
  cache_write_tokens := cwrite;
  output_tokens := outp;
  reasoning_tokens := reasoning;
END
$$;
COMMENT ON FUNCTION analytics.otel_genai_usage(jsonb) IS
  'Maps OpenTelemetry GenAI span attributes (gen_ai.usage.input_tokens, output_tokens, cache_read.input_tokens, cache_creation.input_tokens, reasoning.output_tokens; flat keys) onto the token ledger';
REVOKE ALL ON FUNCTION analytics.otel_genai_usage(jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.otel_genai_usage(jsonb)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
