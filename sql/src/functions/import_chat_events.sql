-- A history load: the rows of a table (or view) whose columns are named after
-- record_chat_events keys, recorded through the batch path by import_rows
-- from a cursor opened here.  Runs with the caller's rights (it reads the
-- caller's table).
CREATE OR REPLACE FUNCTION analytics.import_chat_events(source regclass, batch_size integer DEFAULT 10000)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  cur     refcursor;
  n       bigint;
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
  -- Read with the caller's rights; recorded by the batch path (import_rows).
  OPEN cur NO SCROLL FOR EXECUTE format('SELECT * FROM %s s', source);
  n := analytics.import_rows(cur, batch_size);
  CLOSE cur;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.import_chat_events(regclass, integer) IS
  'A history load: records every row of source (columns named after record_chat_events keys) through the batch path, batch_size rows at a time, after creating the partitions of its months; returns how many rows it took (repeats of a request_id included)';
REVOKE ALL ON FUNCTION analytics.import_chat_events(regclass, integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.import_chat_events(regclass, integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
