-- The usage object itself: given, or under its key in a whole response.
CREATE OR REPLACE FUNCTION analytics.usage_object(usage jsonb, key text) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF jsonb_typeof(usage) = 'object' AND jsonb_typeof(usage -> key) = 'object' THEN
    usage := usage -> key;
  END IF;
  IF jsonb_typeof(usage) <> 'object' THEN
    RAISE EXCEPTION '% must be a JSON object, not %', key, jsonb_typeof(usage) USING ERRCODE = '22023';
  END IF;
  RETURN usage;
END
$$;
COMMENT ON FUNCTION analytics.usage_object(jsonb, text) IS
  'The usage object of a provider response (the object itself, or the response holding it under key), 22023 if not an object (internal to the usage mappers)';
REVOKE ALL ON FUNCTION analytics.usage_object(jsonb, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.usage_object(jsonb, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
