CREATE OR REPLACE FUNCTION analytics.ensure_partitions(months_ahead integer DEFAULT 2)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  m          date;
  part       text;
  created    integer := 0;
  moved      boolean;
  logname        text;
BEGIN
  IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
    RAISE EXCEPTION 'months_ahead must be between 0 and 120' USING ERRCODE = '22023';
  END IF;
  -- For each log (chat_events, api_requests): UTC months of occurred_at,
  -- the current one, months_ahead more, and every month with rows waiting
  -- in the default partition.
  FOREACH logname IN ARRAY ARRAY['chat_events', 'api_requests'] LOOP
  FOR m IN EXECUTE format(
      'SELECT g::date FROM generate_series(date_trunc(''month'', now() AT TIME ZONE ''UTC''),
                                           date_trunc(''month'', now() AT TIME ZONE ''UTC'')
                                             + make_interval(months => $1), interval ''1 month'') AS g
       UNION
       SELECT DISTINCT date_trunc(''month'', d.occurred_at AT TIME ZONE ''UTC'')::date FROM analytics.%I d
       ORDER BY 1', logname || '_default') USING months_ahead
  LOOP
    part := logname || '_' || to_char(m, 'YYYYMM');
    IF to_regclass('analytics.' || quote_ident(part)) IS NULL THEN
      EXECUTE format('LOCK TABLE analytics.%I IN ACCESS EXCLUSIVE MODE', logname);
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM analytics.%I d WHERE d.occurred_at >= $1 AND d.occurred_at < $2)',
                     logname || '_default')
        INTO moved
        USING m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC';
      IF moved THEN
        -- Detach the default partition so the new one can be created, move
        -- the month's rows, then attach the default back.
        EXECUTE format('ALTER TABLE analytics.%I DETACH PARTITION analytics.%I', logname, logname || '_default');
      END IF;
      EXECUTE format('CREATE TABLE analytics.%I PARTITION OF analytics.%I
                        FOR VALUES FROM (%L) TO (%L)',
                     part, logname, m::timestamp AT TIME ZONE 'UTC',
                     (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
      IF logname = 'chat_events' THEN
        PERFORM analytics.index_partition(('analytics.' || quote_ident(part))::regclass);
      ELSE
        PERFORM analytics.index_api_partition(('analytics.' || quote_ident(part))::regclass);
      END IF;
      IF moved THEN
        EXECUTE format('WITH gone AS (DELETE FROM analytics.%I d
                                       WHERE d.occurred_at >= %L AND d.occurred_at < %L
                                       RETURNING d.*)
                        INSERT INTO analytics.%I SELECT * FROM gone',
                       logname || '_default', m::timestamp AT TIME ZONE 'UTC',
                       (m + interval '1 month')::timestamp AT TIME ZONE 'UTC', part);
        EXECUTE format('ALTER TABLE analytics.%I ATTACH PARTITION analytics.%I DEFAULT', logname, logname || '_default');
      END IF;
      created := created + 1;
    END IF;
  END LOOP;
  END LOOP;
  RETURN created;
END
$$;
COMMENT ON FUNCTION analytics.ensure_partitions(integer) IS
  'Creates the monthly partitions of chat_events and api_requests from the current UTC month to months_ahead months ahead (and for any month waiting in a default partition); returns how many it created';
REVOKE ALL ON FUNCTION analytics.ensure_partitions(integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.ensure_partitions(integer)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
