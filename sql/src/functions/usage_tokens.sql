-- One token count of a usage object: 0 if absent, else a non-negative integer.
CREATE OR REPLACE FUNCTION analytics.usage_tokens(usage jsonb, path text[]) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  name text := array_to_string(path, '.');
  v    jsonb;
  n    numeric;
  i    integer;
BEGIN
  FOR i IN 1 .. cardinality(path) - 1 LOOP
    v := usage #> path[1:i];
    IF v IS NOT NULL AND jsonb_typeof(v) NOT IN ('object', 'null') THEN
      RAISE EXCEPTION '% must be a JSON object, not %', array_to_string(path[1:i], '.'), jsonb_typeof(v)
        USING ERRCODE = '22023';
    END IF;
  END LOOP;
  v := usage #> path;
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
    RETURN 0;
  END IF;
  IF jsonb_typeof(v) <> 'number' THEN
    RAISE EXCEPTION '% must be a number, not %', name, jsonb_typeof(v) USING ERRCODE = '22023';
  END IF;
  n := v::numeric;
  IF n <> trunc(n) THEN
    RAISE EXCEPTION '% must be an integer, not %', name, n USING ERRCODE = '22023';
  END IF;
  IF n < 0 THEN
    RAISE EXCEPTION '% must not be negative, not %', name, n USING ERRCODE = '22023';
  END IF;
  IF n > 9223372036854775807 THEN
    RAISE EXCEPTION '% is out of range: %', name, n USING ERRCODE = '22023';
  END IF;
  RETURN n::bigint;
END
$$;
COMMENT ON FUNCTION analytics.usage_tokens(jsonb, text[]) IS
  'A token count of a provider usage object, validated: 0 when absent, 22023 naming the field when not a non-negative integer (internal to the usage mappers)';
REVOKE ALL ON FUNCTION analytics.usage_tokens(jsonb, text[]) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.usage_tokens(jsonb, text[])', 'EXECUTE')
  ON CONFLICT DO NOTHING;
