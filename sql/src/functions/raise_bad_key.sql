CREATE OR REPLACE FUNCTION analytics.raise_bad_key(i integer, k text, expected text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RAISE EXCEPTION 'event % key "%" must be %', i, k, expected USING ERRCODE = '22023';
END
$$;
COMMENT ON FUNCTION analytics.raise_bad_key(integer, text, text) IS
  'Raises the batch error for a key of the wrong JSON type (internal to record_chat_events)';
REVOKE ALL ON FUNCTION analytics.raise_bad_key(integer, text, text) FROM PUBLIC;
