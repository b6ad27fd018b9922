CREATE OR REPLACE FUNCTION analytics.rebuild_rollups(from_date date, to_date date)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w bigint;
  g record;
BEGIN
  IF from_date IS NULL OR to_date IS NULL OR from_date > to_date THEN
    RAISE EXCEPTION 'from_date and to_date must be dates with from_date <= to_date' USING ERRCODE = '22023';
  END IF;
  -- Whole months, so that monthly rollups are rebuilt whole.
  from_date := date_trunc('month', from_date::timestamp)::date;
  to_date := (date_trunc('month', to_date::timestamp) + interval '1 month - 1 day')::date;
  -- No fold and no writer while we rebuild.
  SELECT f.watermark INTO w FROM analytics.fold_state f FOR UPDATE;
  IF EXISTS (SELECT 1 FROM analytics.fold_state f
              WHERE f.retained_from IS NOT NULL AND from_date <= (f.retained_from AT TIME ZONE 'UTC')::date) THEN
    RAISE EXCEPTION 'cannot rebuild rollups before the retention horizon'
      USING ERRCODE = '55000',
            DETAIL = 'The raw events of those months were dropped; their rollups are all that is left.';
  END IF;
  LOCK TABLE analytics.usage_counters IN EXCLUSIVE MODE;

  DELETE FROM analytics.usage_counters c WHERE c.usage_date BETWEEN from_date AND to_date;
  -- The counters of the log, through the one counter change, a call per
  -- row of the grouped log (not inside its query: on a Citus cluster that
  -- query runs on the shards, where the counter change cannot run).
  FOR g IN SELECT e.user_id, e.usage_date,
                 count(*) FILTER (WHERE f.done) AS requests,
                 count(*) FILTER (WHERE e.status = 'failed') AS failed,
                 COALESCE(sum(e.input_tokens) FILTER (WHERE f.done), 0) AS input_tokens,
                 COALESCE(sum(e.cached_input_tokens) FILTER (WHERE f.done), 0) AS cached_input_tokens,
                 COALESCE(sum(e.cache_write_tokens) FILTER (WHERE f.done), 0) AS cache_write_tokens,
                 COALESCE(sum(e.output_tokens) FILTER (WHERE f.done), 0) AS output_tokens,
                 COALESCE(sum(e.reasoning_tokens) FILTER (WHERE f.done), 0) AS reasoning_tokens,
                 count(*) FILTER (WHERE f.done AND e.cache_hit) AS cache_hits,
                 COALESCE(sum(e.cost) FILTER (WHERE f.done), 0) AS cost,
                 COALESCE(sum(e.cache_savings) FILTER (WHERE f.done), 0) AS cache_savings,
                 COALESCE(sum(e.response_time_ms) FILTER (WHERE f.done), 0) AS response_time_sum,
                 count(e.response_time_ms) FILTER (WHERE f.done) AS response_time_count,
                 count(*) FILTER (WHERE e.status = 'pending') AS pending_requests,
                 COALESCE(sum(e.reserved_tokens) FILTER (WHERE e.status = 'pending'), 0) AS pending_tokens,
                 COALESCE(sum(e.reserved_cost) FILTER (WHERE e.status = 'pending'), 0) AS pending_cost,
                 count(*) FILTER (WHERE e.status = 'rejected') AS rejected
            FROM analytics.chat_events e, LATERAL (SELECT e.status IN ('completed', 'failed') AS done) f
           WHERE e.status IN ('completed', 'failed', 'pending', 'rejected')
             AND e.usage_date BETWEEN from_date AND to_date
           GROUP BY e.user_id, e.usage_date
  LOOP
    PERFORM analytics.counters_add(g.user_id, g.usage_date, g.requests, g.failed, g.input_tokens,
              g.cached_input_tokens, g.cache_write_tokens, g.output_tokens, g.reasoning_tokens,
              g.cache_hits, g.cost, g.cache_savings, g.response_time_sum, g.response_time_count,
              g.pending_requests, g.pending_tokens, g.pending_cost, g.rejected);
  END LOOP;

  -- The organizations' counters likewise, from the requests with org_id.
  LOCK TABLE analytics.org_usage_counters IN EXCLUSIVE MODE;
  DELETE FROM analytics.org_usage_counters c WHERE c.usage_date BETWEEN from_date AND to_date;
  FOR g IN SELECT * FROM analytics.org_counters_of_log(from_date, to_date) LOOP
    PERFORM analytics.org_counters_add(g.org_id, g.user_id, g.usage_date, g.requests, g.failed, g.input_tokens,
              g.cached_input_tokens, g.cache_write_tokens, g.output_tokens, g.reasoning_tokens,
              g.cache_hits, g.cost, g.cache_savings, g.response_time_sum, g.response_time_count,
              g.pending_requests, g.pending_tokens, g.pending_cost, g.rejected);
  END LOOP;

  RETURN analytics.refold_range(from_date, to_date, w);
END
$$;
COMMENT ON FUNCTION analytics.rebuild_rollups(date, date) IS
  'Recomputes counters and rollups of the whole months of a date range from the raw log (local days for per-user tables, UTC days for the others); returns the events refolded';
REVOKE ALL ON FUNCTION analytics.rebuild_rollups(date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.rebuild_rollups(date, date)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
