CREATE OR REPLACE FUNCTION analytics.check_batch_size(events jsonb) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n   integer;
  cap integer := analytics.setting('max_batch_events')::integer;
BEGIN
  IF events IS NULL OR jsonb_typeof(events) <> 'array' THEN
    RAISE EXCEPTION 'events must be a JSON array of objects' USING ERRCODE = '22023';
  END IF;
  n := jsonb_array_length(events);
  IF n > cap THEN
    RAISE EXCEPTION 'a batch holds at most % events, this one has %', cap, n
      USING ERRCODE = '54000',
            HINT = 'Split it into several calls, or raise usage_analytics.max_batch_events.';
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.check_batch_size(jsonb) IS
  'Refuses a batch that is not a JSON array or holds more than usage_analytics.max_batch_events elements (internal to record_chat_events)';
REVOKE ALL ON FUNCTION analytics.check_batch_size(jsonb) FROM PUBLIC;
