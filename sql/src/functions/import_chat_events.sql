-- A history load: the rows of a table (or view) whose columns are named after
-- record_chat_events keys, recorded in chunks through the batch path.  Runs
-- with the caller's rights (it reads the caller's table).
CREATE OR REPLACE FUNCTION analytics.import_chat_events(source regclass, batch_size integer DEFAULT 10000)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r       record;
  chunk   jsonb[] := '{}';
  k       integer := 0;
  n       bigint := 0;
  first_at timestamptz;
  last_at  timestamptz;
BEGIN
  IF source IS NULL THEN
    RAISE EXCEPTION 'source must name a table' USING ERRCODE = '22023';
  END IF;
  IF batch_size IS NULL OR batch_size < 1
     OR batch_size > analytics.setting('max_batch_events')::integer THEN
    RAISE EXCEPTION 'batch_size must be between 1 and usage_analytics.max_batch_events (%)',
      analytics.setting('max_batch_events') USING ERRCODE = '22023';
  END IF;
  -- The months of the history get their partitions first (else its events
  -- would wait in the default partition).
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = source AND a.attname = 'occurred_at' AND NOT a.attisdropped) THEN
    EXECUTE format('SELECT min(s.occurred_at::timestamptz), max(s.occurred_at::timestamptz) FROM %s s', source)
      INTO first_at, last_at;
    IF first_at IS NOT NULL THEN
      PERFORM analytics.ensure_event_partitions(first_at, GREATEST(last_at, first_at));
    END IF;
  END IF;
  FOR r IN EXECUTE format('SELECT pg_catalog.to_jsonb(s) AS e FROM %s s', source) LOOP
    chunk := chunk || r.e;
    k := k + 1;
    IF k = batch_size THEN
      n := n + analytics.import_chunk(chunk, n);
      chunk := '{}';
      k := 0;
    END IF;
  END LOOP;
  IF k > 0 THEN
    n := n + analytics.import_chunk(chunk, n);
  END IF;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.import_chat_events(regclass, integer) IS
  'A history load: records every row of source (columns named after record_chat_events keys) through the batch path, batch_size rows per call, after creating the partitions of its months; returns how many rows it took (repeats of a request_id included)';
REVOKE ALL ON FUNCTION analytics.import_chat_events(regclass, integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.import_chat_events(regclass, integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
