CREATE OR REPLACE FUNCTION analytics.verify_rollups(from_date date DEFAULT NULL, to_date date DEFAULT NULL)
  RETURNS TABLE (rollup text, key text, stored text, recomputed text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w bigint;
  horizon date;
  c record;
BEGIN
  -- Dates are local days for per-user rollups and counters, UTC days for the
  -- others.  Before the retention horizon (and on its boundary day, which
  -- local days straddle) the raw log is gone: nothing to compare with.
  SELECT f.watermark, (f.retained_from AT TIME ZONE 'UTC')::date + 1 INTO w, horizon
    FROM analytics.fold_state f;
  IF horizon IS NOT NULL AND (from_date IS NULL OR from_date < horizon) THEN
    from_date := horizon;
  END IF;
  FOR c IN SELECT * FROM analytics.rollup_comparisons(from_date, to_date, w) LOOP
    RETURN QUERY EXECUTE format(
      'SELECT %L::text, COALESCE(s.k, r.k), s.v, r.v
         FROM (%s) AS s(k, v) FULL JOIN (%s) AS r(k, v) ON s.k = r.k
        WHERE s.v IS DISTINCT FROM r.v ORDER BY 2',
      c.rollup, c.stored_sql, c.recomputed_sql);
  END LOOP;
END
$$;
COMMENT ON FUNCTION analytics.verify_rollups(date, date) IS
  'The rows where a rollup or counter differs from a recomputation from the raw log (none, always), from the retention horizon on; dates are local days for per-user rollups, UTC days for the others';
REVOKE ALL ON FUNCTION analytics.verify_rollups(date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.verify_rollups(date, date)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
