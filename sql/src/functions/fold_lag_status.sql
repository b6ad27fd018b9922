CREATE OR REPLACE FUNCTION analytics.fold_lag_status(OUT unfolded_events bigint, OUT oldest_unfolded_at timestamptz,
    OUT lag interval, OUT last_fold_at timestamptz, OUT watermark bigint, OUT needs_repair boolean)
  RETURNS record
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  SELECT f.folded_at, f.watermark, f.needs_repair INTO last_fold_at, watermark, needs_repair
    FROM analytics.fold_state f;
  -- What fold() would fold now: finished events at or above the watermark.
  SELECT count(*), min(e.recorded_at) INTO unfolded_events, oldest_unfolded_at
    FROM analytics.chat_events e
   WHERE e.recorded_xid >= fold_lag_status.watermark AND e.status IN ('completed', 'failed');
  lag := COALESCE(now() - oldest_unfolded_at, interval '0');
END
$$;
COMMENT ON FUNCTION analytics.fold_lag_status() IS
  'Events not yet folded, the age of the oldest, and the last fold (read by analytics.fold_lag)';
REVOKE ALL ON FUNCTION analytics.fold_lag_status() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.fold_lag_status()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
