CREATE OR REPLACE FUNCTION analytics.bedrock_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  u      jsonb := analytics.usage_object(usage, 'usage');
  inp    bigint := analytics.usage_tokens(u, '{inputTokens}');
  outp   bigint := analytics.usage_tokens(u, '{outputTokens}');
  cread  bigint := analytics.usage_tokens(u, '{cacheReadInputTokens}');
  cwrite bigint := analytics.usage_tokens(u, '{cacheWriteInputTokens}');
  total  bigint := analytics.usage_tokens(u, '{totalTokens}');
BEGIN
  -- inputTokens excludes cache reads and writes; totalTokens counts all four.
  IF u ? 'totalTokens' AND total <> inp + outp + cread + cwrite THEN
    RAISE EXCEPTION 'totalTokens (%) is not inputTokens + outputTokens + cacheReadInputTokens + cacheWriteInputTokens (%)',
      total, inp + outp + cread + cwrite USING ERRCODE = '22023';
  END IF;
  input_tokens := inp;
  cached_input_tokens := cread;
  cache_write_tokens := cwrite;
  output_tokens := outp;
  reasoning_tokens := 0;
END
$$;
COMMENT ON FUNCTION analytics.bedrock_usage(jsonb) IS
  'Maps a Bedrock Converse usage object (or a response holding it) onto the token ledger: inputTokens exclude cacheReadInputTokens and cacheWriteInputTokens';
REVOKE ALL ON FUNCTION analytics.bedrock_usage(jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.bedrock_usage(jsonb)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
