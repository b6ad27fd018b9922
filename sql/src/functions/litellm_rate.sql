-- One cost field of an entry, per million tokens; NULL if absent.
CREATE OR REPLACE FUNCTION analytics.litellm_rate(model text, entry jsonb, field text) RETURNS numeric
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v    jsonb := entry -> field;
  rate numeric;
BEGIN
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
    RETURN NULL;
  ELSIF jsonb_typeof(v) = 'number' THEN
    rate := v::numeric;
  ELSIF jsonb_typeof(v) = 'string' THEN
    BEGIN
      rate := (v #>> '{}')::numeric;
    EXCEPTION WHEN invalid_text_representation THEN
      RAISE EXCEPTION 'entry "%": % is not a number: "%"', model, field, v #>> '{}'
        USING ERRCODE = '22P02';
    END;
  ELSE
    RAISE EXCEPTION 'entry "%": % must be a number, not %', model, field, jsonb_typeof(v)
      USING ERRCODE = '22023';
  END IF;
  IF rate = 'NaN' OR rate IN ('Infinity', '-Infinity') OR rate < 0 OR rate >= 1 THEN
    RAISE EXCEPTION 'entry "%": % must be at least 0 and below 1 USD per token, not %', model, field, v #>> '{}'
      USING ERRCODE = '22023';
  END IF;
  RETURN trim_scale(rate * 1000000);
END
$$;
COMMENT ON FUNCTION analytics.litellm_rate(text, jsonb, text) IS
  'A per-token cost field of a LiteLLM catalog entry in USD per million tokens, validated (internal to import_litellm_prices)';
REVOKE ALL ON FUNCTION analytics.litellm_rate(text, jsonb, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.litellm_rate(text, jsonb, text)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
