CREATE OR REPLACE FUNCTION analytics.fold_watermark() RETURNS bigint
  LANGUAGE sql STABLE PARALLEL SAFE
  BEGIN ATOMIC
    SELECT f.watermark FROM analytics.fold_state f;
  END;
COMMENT ON FUNCTION analytics.fold_watermark() IS
  'Events with recorded_xid below this are folded into the rollups; the rest are the unfolded tail';
REVOKE ALL ON FUNCTION analytics.fold_watermark() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.fold_watermark()', 'EXECUTE')
  ON CONFLICT DO NOTHING;
