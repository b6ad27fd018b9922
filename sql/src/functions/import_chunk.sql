-- One chunk of a history load: record_chat_events, with an error's source
-- rows named (event N of the chunk is source row done + N).
CREATE OR REPLACE FUNCTION analytics.import_chunk(chunk jsonb[], done bigint) RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  state text;
  msg   text;
  hint  text;
BEGIN
  RETURN (SELECT count(*) FROM analytics.record_chat_events(pg_catalog.to_jsonb(chunk)));
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RAISE EXCEPTION 'source rows % to %: %', done + 1, done + pg_catalog.cardinality(chunk), msg
    USING ERRCODE = state, HINT = hint;
END
$$;
COMMENT ON FUNCTION analytics.import_chunk(jsonb[], bigint) IS
  'One chunk of import_chat_events: its events recorded by record_chat_events, an error naming the source rows (internal to import_chat_events)';
REVOKE ALL ON FUNCTION analytics.import_chunk(jsonb[], bigint) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.import_chunk(jsonb[], bigint)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
