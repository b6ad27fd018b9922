CREATE OR REPLACE FUNCTION analytics.ensure_event_partitions(from_at timestamptz, to_at timestamptz)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  m       date;
  part    text;
  created integer := 0;
BEGIN
  IF from_at IS NULL OR to_at IS NULL OR NOT isfinite(from_at) OR NOT isfinite(to_at) THEN
    RAISE EXCEPTION 'from_at and to_at must be finite timestamps' USING ERRCODE = '22023';
  END IF;
  IF to_at < from_at OR to_at - from_at > interval '120 months' THEN
    RAISE EXCEPTION 'from_at must not follow to_at, and the range may span at most 120 months'
      USING ERRCODE = '22023';
  END IF;
  FOR m IN SELECT g::date FROM generate_series(date_trunc('month', from_at AT TIME ZONE 'UTC'),
                                               date_trunc('month', to_at AT TIME ZONE 'UTC'),
                                               interval '1 month') AS g
  LOOP
    part := 'chat_events_' || to_char(m, 'YYYYMM');
    CONTINUE WHEN to_regclass('analytics.' || quote_ident(part)) IS NOT NULL;
    LOCK TABLE analytics.chat_events IN ACCESS EXCLUSIVE MODE;
    CONTINUE WHEN to_regclass('analytics.' || quote_ident(part)) IS NOT NULL;
    -- Rows of the month waiting in the default partition: ensure_partitions moves them.
    IF EXISTS (SELECT 1 FROM analytics.chat_events_default d
                WHERE d.occurred_at >= m::timestamp AT TIME ZONE 'UTC'
                  AND d.occurred_at < (m + interval '1 month')::timestamp AT TIME ZONE 'UTC') THEN
      PERFORM analytics.ensure_partitions(0);
      CONTINUE;
    END IF;
    EXECUTE format('CREATE TABLE analytics.%I PARTITION OF analytics.chat_events
                      FOR VALUES FROM (%L) TO (%L)',
                   part, m::timestamp AT TIME ZONE 'UTC',
                   (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    PERFORM analytics.index_partition(('analytics.' || quote_ident(part))::regclass);
    created := created + 1;
  END LOOP;
  RETURN created;
END
$$;
COMMENT ON FUNCTION analytics.ensure_event_partitions(timestamptz, timestamptz) IS
  'Creates the missing monthly partitions of chat_events for the UTC months from from_at to to_at (at most 120 months; for import_chat_events); returns how many it created';
REVOKE ALL ON FUNCTION analytics.ensure_event_partitions(timestamptz, timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.ensure_event_partitions(timestamptz, timestamptz)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
