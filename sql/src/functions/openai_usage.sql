-- The 1.0 mappers validate as the new ones do (a negative, fractional or
-- non-numeric count, or more cached than prompt tokens, was taken as is):
-- the same field reader, usage_tokens.
CREATE OR REPLACE FUNCTION analytics.openai_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  -- Chat Completions: prompt_tokens / completion_tokens (+ *_details);
  -- Responses API: input_tokens / output_tokens (+ *_details).
  chat      boolean := usage ? 'prompt_tokens' OR usage ? 'completion_tokens';
  prompt    bigint := analytics.usage_tokens(usage, CASE WHEN chat THEN '{prompt_tokens}' ELSE '{input_tokens}' END::text[]);
  cached    bigint := analytics.usage_tokens(usage, CASE WHEN chat THEN '{prompt_tokens_details,cached_tokens}'
                                                   ELSE '{input_tokens_details,cached_tokens}' END::text[]);
  outp      bigint := analytics.usage_tokens(usage, CASE WHEN chat THEN '{completion_tokens}' ELSE '{output_tokens}' END::text[]);
  reasoning bigint := analytics.usage_tokens(usage, CASE WHEN chat THEN '{completion_tokens_details,reasoning_tokens}'
                                                   ELSE '{output_tokens_details,reasoning_tokens}' END::text[]);
BEGIN
  IF jsonb_typeof(usage) <> 'object' THEN
    RAISE EXCEPTION 'usage must be a JSON object, not %', jsonb_typeof(usage) USING ERRCODE = '22023';
  END IF;
  -- prompt tokens include the cached ones; completion tokens the reasoning.
  IF cached > prompt THEN
    RAISE EXCEPTION 'cached_tokens (%) exceeds the prompt tokens (%)', cached, prompt USING ERRCODE = '22023';
  END IF;
  IF reasoning > outp THEN
    RAISE EXCEPTION 'reasoning_tokens (%) exceeds the completion tokens (%)', reasoning, outp USING ERRCODE = '22023';
  END IF;
  input_tokens := prompt - cached;
  cached_input_tokens := cached;
  cache_write_tokens := 0;
  output_tokens := outp;
  reasoning_tokens := reasoning;
END
$$;
COMMENT ON FUNCTION analytics.openai_usage(jsonb) IS
  'Maps an OpenAI usage object (Chat Completions or Responses API) onto the token ledger: prompt tokens include cached ones';
REVOKE ALL ON FUNCTION analytics.openai_usage(jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.openai_usage(jsonb)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
