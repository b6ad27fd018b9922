CREATE OR REPLACE FUNCTION analytics.fold() RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w bigint;
  h bigint;
  n bigint;
  repair boolean;
BEGIN
  -- One fold at a time: a concurrent fold waits here, then starts from the
  -- watermark this one leaves.
  SELECT f.watermark, f.needs_repair INTO w, repair FROM analytics.fold_state f FOR UPDATE;
  IF repair THEN
    RETURN analytics.repair_after_restore();
  END IF;
  -- Every transaction below h has ended; the next statements see them all.
  h := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
  IF h <= w THEN
    RETURN 0;
  END IF;
  n := analytics.fold_range(w, h, NULL, NULL);
  -- The API requests of the same range (api_requests.sql).
  PERFORM analytics.fold_api_requests(w, h, NULL, NULL);
  UPDATE analytics.fold_state
     SET watermark = h, folded_at = now(), events_folded = events_folded + n;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.fold() IS
  'Folds the events and API requests recorded since the last fold into the rollups, exactly once; safe with concurrent writers and folds; then records the threshold notifications its events reached that their writers could not see; returns how many chat events';
REVOKE ALL ON FUNCTION analytics.fold() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.fold()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
