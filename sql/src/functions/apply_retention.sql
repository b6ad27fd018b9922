CREATE OR REPLACE FUNCTION analytics.apply_retention() RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  months integer := analytics.setting('retention_months')::integer;
  cutoff timestamptz;
  p record;
  dropped integer := 0;
BEGIN
  -- Keep the current UTC month and the retention_months before it.
  cutoff := (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => months)) AT TIME ZONE 'UTC';
  -- Fold first: what is dropped must be in the rollups.
  PERFORM analytics.fold();
  PERFORM 1 FROM analytics.fold_state FOR UPDATE;
  FOR p IN
    SELECT c.oid::regclass AS part, c.relname,
           to_timestamp(right(c.relname, 6) || '01', 'YYYYMMDD') AT TIME ZONE 'UTC' AT TIME ZONE 'UTC' AS month_start
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE (i.inhparent = 'analytics.chat_events'::regclass AND c.relname ~ '^chat_events_[0-9]{6}$')
        OR (i.inhparent = 'analytics.api_requests'::regclass AND c.relname ~ '^api_requests_[0-9]{6}$')
     ORDER BY c.relname
  LOOP
    CONTINUE WHEN (p.month_start + interval '1 month') > cutoff;
    EXECUTE format('DROP TABLE %s', p.part);
    dropped := dropped + 1;
  END LOOP;
  IF dropped > 0 THEN
    DELETE FROM analytics.request_keys k WHERE k.occurred_at < cutoff;
    DELETE FROM analytics.api_request_keys k WHERE k.occurred_at < cutoff;
    UPDATE analytics.fold_state
       SET retained_from = GREATEST(COALESCE(retained_from, cutoff), cutoff);
  END IF;
  PERFORM analytics.clear_payloads();
  RETURN dropped;
END
$$;
COMMENT ON FUNCTION analytics.apply_retention() IS
  'Drops the monthly partitions of chat_events and api_requests older than usage_analytics.retention_months (after folding them) and clears payloads older than usage_analytics.payload_retention_days; counters and rollups are kept; returns how many partitions it dropped';
REVOKE ALL ON FUNCTION analytics.apply_retention() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.apply_retention()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
