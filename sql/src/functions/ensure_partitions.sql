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
BEGIN
  IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
    RAISE EXCEPTION 'months_ahead must be between 0 and 120' USING ERRCODE = '22023';
  END IF;
  -- Months are UTC months of occurred_at: the current one, months_ahead
  -- more, and every month with rows waiting in the default partition.
  FOR m IN
    SELECT g::date FROM generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                        date_trunc('month', now() AT TIME ZONE 'UTC')
                                          + make_interval(months => months_ahead),
                                        interval '1 month') AS g
    UNION
    SELECT DISTINCT date_trunc('month', d.occurred_at AT TIME ZONE 'UTC')::date
      FROM analytics.chat_events_default d
    ORDER BY 1
  LOOP
    part := 'chat_events_' || to_char(m, 'YYYYMM');
    IF to_regclass('analytics.' || quote_ident(part)) IS NULL THEN
      LOCK TABLE analytics.chat_events IN ACCESS EXCLUSIVE MODE;
      SELECT EXISTS (SELECT 1 FROM analytics.chat_events_default d
                      WHERE d.occurred_at >= (m::timestamp AT TIME ZONE 'UTC')
                        AND d.occurred_at < ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'))
        INTO moved;
      IF moved THEN
        -- Detach the default partition so the new one can be created, move
        -- the month's rows, then attach the default back.
        ALTER TABLE analytics.chat_events DETACH PARTITION analytics.chat_events_default;
      END IF;
      EXECUTE format('CREATE TABLE analytics.%I PARTITION OF analytics.chat_events
                        FOR VALUES FROM (%L) TO (%L)',
                     part, m::timestamp AT TIME ZONE 'UTC',
                     (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
      PERFORM analytics.index_partition(('analytics.' || quote_ident(part))::regclass);
      IF moved THEN
        EXECUTE format('WITH gone AS (DELETE FROM analytics.chat_events_default d
                                       WHERE d.occurred_at >= %L AND d.occurred_at < %L
                                       RETURNING d.*)
                        INSERT INTO analytics.%I SELECT * FROM gone',
                       m::timestamp AT TIME ZONE 'UTC',
                       (m + interval '1 month')::timestamp AT TIME ZONE 'UTC', part);
        ALTER TABLE analytics.chat_events ATTACH PARTITION analytics.chat_events_default DEFAULT;
      END IF;
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END
$$;
COMMENT ON FUNCTION analytics.ensure_partitions(integer) IS
  'Creates the monthly partitions of chat_events from the current UTC month to months_ahead months ahead (and for any month waiting in the default partition); returns how many it created';
REVOKE ALL ON FUNCTION analytics.ensure_partitions(integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.ensure_partitions(integer)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
