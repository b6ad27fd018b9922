CREATE OR REPLACE FUNCTION analytics.openai_responses_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  u         jsonb := analytics.usage_object(usage, 'usage');
  inp       bigint := analytics.usage_tokens(u, '{input_tokens}');
  cached    bigint := analytics.usage_tokens(u, '{input_tokens_details,cached_tokens}');
  outp      bigint := analytics.usage_tokens(u, '{output_tokens}');
  reasoning bigint := analytics.usage_tokens(u, '{output_tokens_details,reasoning_tokens}');
  total     bigint := analytics.usage_tokens(u, '{total_tokens}');
BEGIN
  -- input_tokens includes the cached ones; output_tokens the reasoning.
  IF cached > inp THEN
    RAISE EXCEPTION 'input_tokens_details.cached_tokens (%) exceeds input_tokens (%)', cached, inp
      USING ERRCODE = '22023', DETAIL = 'input_tokens includes the cached tokens.';
  END IF;
  IF reasoning > outp THEN
    RAISE EXCEPTION 'output_tokens_details.reasoning_tokens (%) exceeds output_tokens (%)', reasoning, outp
      USING ERRCODE = '22023', DETAIL = 'output_tokens includes the reasoning tokens.';
  END IF;
  IF u ? 'total_tokens' AND total <> inp + outp THEN
    RAISE EXCEPTION 'total_tokens (%) is not input_tokens + output_tokens (%)', total, inp + outp
      USING ERRCODE = '22023';
  END IF;
  input_tokens := inp - cached;
  cached_input_tokens := cached;
  cache_write_tokens := 0;
  output_tokens := outp;
  reasoning_tokens := reasoning;
END
$$;
COMMENT ON FUNCTION analytics.openai_responses_usage(jsonb) IS
  'Maps an OpenAI Responses API usage object (or a response holding it) onto the token ledger, validated: input_tokens include cached_tokens, output_tokens include reasoning_tokens';
REVOKE ALL ON FUNCTION analytics.openai_responses_usage(jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.openai_responses_usage(jsonb)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
