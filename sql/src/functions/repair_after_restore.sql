-- After a restore from another cluster the log's recorded_xid values are
-- foreign: they say nothing about what is folded.  Called by fold() under
-- the fold_state row lock.  Internal.
CREATE OR REPLACE FUNCTION analytics.repair_after_restore() RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  w_old      bigint;
  horizon    date;
  h          bigint;
  first_day  date;
  last_day   date;
  rebuild_from date;
  n          bigint := 0;
  api_from   date;
BEGIN
  SELECT f.watermark, (f.retained_from AT TIME ZONE 'UTC')::date INTO w_old, horizon
    FROM analytics.fold_state f;
  -- Wait for writers in flight and keep new ones out: from here on every
  -- event is visible, and every transaction that may still write has an id
  -- at or above h.
  LOCK TABLE analytics.chat_events IN SHARE MODE;
  LOCK TABLE analytics.api_requests IN SHARE MODE;
  h := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
  SELECT LEAST(min(e.usage_date), min((e.occurred_at AT TIME ZONE 'UTC')::date)),
         GREATEST(max(e.usage_date), max((e.occurred_at AT TIME ZONE 'UTC')::date))
    INTO first_day, last_day FROM analytics.chat_events e;
  IF first_day IS NOT NULL THEN
    -- Whole months whose raw events are all kept: recompute from the log.
    rebuild_from := date_trunc('month', GREATEST(first_day, COALESCE(horizon + 1, first_day))::timestamp)::date;
    IF horizon IS NOT NULL AND rebuild_from <= horizon THEN
      rebuild_from := (rebuild_from + interval '1 month')::date;
    END IF;
    IF rebuild_from <= last_day THEN
      n := analytics.refold_range(rebuild_from, last_day, 9223372036854775807);
    END IF;
    -- The month at the retention horizon keeps its rollups: fold what the
    -- dump had not folded yet.
    IF first_day < rebuild_from THEN
      n := n + analytics.fold_range(w_old, 9223372036854775807, NULL, rebuild_from - 1);
    END IF;
    -- Every event present is folded now: put it below the new watermark.
    UPDATE analytics.chat_events e SET recorded_xid = h - 1 WHERE e.recorded_xid >= h;
  END IF;
  -- API requests: retention drops whole UTC months of both logs and their
  -- rollups are per UTC day, so every month with raw requests is rebuilt
  -- from them (from the lowest recorded_xid: a dump of a Citus coordinator
  -- marks the requests folded there with a negative one), then restamped
  -- below the new watermark.
  SELECT date_trunc('month', min(r.occurred_at) AT TIME ZONE 'UTC')::date INTO api_from FROM analytics.api_requests r;
  IF api_from IS NOT NULL THEN
    DELETE FROM analytics.rollup_api_daily r WHERE r.usage_date >= api_from;
    DELETE FROM analytics.rollup_widget_daily r WHERE r.usage_date >= api_from;
    PERFORM analytics.fold_api_requests(-9223372036854775808, 9223372036854775807, api_from, NULL);
    UPDATE analytics.api_requests r SET recorded_xid = h - 1 WHERE r.recorded_xid >= h;
  END IF;
  UPDATE analytics.fold_state
     SET watermark = h, needs_repair = false, system_identifier = analytics.system_identifier(),
         folded_at = now(), events_folded = events_folded + n;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.repair_after_restore() IS
  'Refolds the rollups after a dump from another cluster was restored (internal; fold() calls it)';
REVOKE ALL ON FUNCTION analytics.repair_after_restore() FROM PUBLIC;
