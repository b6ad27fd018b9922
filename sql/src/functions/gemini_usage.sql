CREATE OR REPLACE FUNCTION analytics.gemini_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  u        jsonb := analytics.usage_object(usage, 'usageMetadata');
  prompt   bigint := analytics.usage_tokens(u, '{promptTokenCount}');
  cached   bigint := analytics.usage_tokens(u, '{cachedContentTokenCount}');
  cand     bigint := analytics.usage_tokens(u, '{candidatesTokenCount}');
  thoughts bigint := analytics.usage_tokens(u, '{thoughtsTokenCount}');
  tool     bigint := analytics.usage_tokens(u, '{toolUsePromptTokenCount}');
  total    bigint := analytics.usage_tokens(u, '{totalTokenCount}');
BEGIN
  -- promptTokenCount includes the cached content; thoughts are output
  -- billed beside the candidates; tool-use prompts are input.
  IF cached > prompt THEN
    RAISE EXCEPTION 'cachedContentTokenCount (%) exceeds promptTokenCount (%)', cached, prompt
      USING ERRCODE = '22023', DETAIL = 'promptTokenCount includes the cached tokens.';
  END IF;
  IF u ? 'totalTokenCount' AND total <> prompt + tool + cand + thoughts THEN
    RAISE EXCEPTION 'totalTokenCount (%) is not promptTokenCount + toolUsePromptTokenCount + candidatesTokenCount + thoughtsTokenCount (%)',
      total, prompt + tool + cand + thoughts USING ERRCODE = '22023';
  END IF;
  input_tokens := prompt - cached + tool;
  cached_input_tokens := cached;
  cache_write_tokens := 0;
  output_tokens := cand + thoughts;
  reasoning_tokens := thoughts;
END
$$;
COMMENT ON FUNCTION analytics.gemini_usage(jsonb) IS
  'Maps a Gemini usageMetadata object (or a response holding it) onto the token ledger: promptTokenCount includes cachedContentTokenCount; thoughtsTokenCount is output and reasoning';
REVOKE ALL ON FUNCTION analytics.gemini_usage(jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.gemini_usage(jsonb)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
