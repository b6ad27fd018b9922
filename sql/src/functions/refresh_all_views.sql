-- Brings mv_user_monthly_summary and mv_document_popularity up to date
-- with the rollups, rewriting only the rows that changed since the last
-- refresh: the user-months and documents of the events folded since (the
-- fold's watermark then and now bound their recorded_xid; on a Citus
-- cluster, where the watermark stays 0, fold() lists them in
-- summary_changes), those that rollups_add moved (summary_changes), and
-- the documents with a day that left the 7- or 30-day window since the
-- last refresh's UTC day.  Every row is rebuilt on the first refresh,
-- after a rebuild or restore repair of the rollups, or when more events
-- were folded since than the summaries have rows (then a full pass is
-- cheaper than the keys).
-- Refreshes take turns (row lock on summary_refresh); readers see the
-- old rows until it commits.
CREATE OR REPLACE FUNCTION analytics.refresh_all_views() RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  st       analytics.summary_refresh;
  w        bigint;
  folded   bigint;
  today    date := (now() AT TIME ZONE 'UTC')::date;
  rebuild  boolean;
  users    text[];
  months   date[];
  docs     text[];
BEGIN
  SELECT * INTO st FROM analytics.summary_refresh FOR UPDATE;
  SELECT f.watermark, f.events_folded INTO w, folded FROM analytics.fold_state f;
  WITH taken AS (DELETE FROM analytics.summary_changes RETURNING *)
  SELECT COALESCE(bool_or(t.user_id IS NULL AND t.document_id IS NULL), false),
         array_agg(t.user_id) FILTER (WHERE t.user_id IS NOT NULL),
         array_agg(t.month) FILTER (WHERE t.user_id IS NOT NULL),
         array_agg(t.document_id) FILTER (WHERE t.document_id IS NOT NULL)
    INTO rebuild, users, months, docs
    FROM taken t;
  rebuild := rebuild OR st.refreshed_at IS NULL
             OR w < st.watermark OR folded < st.events_folded
             OR today - st.utc_day > 30
             OR folded - st.events_folded > (SELECT sum(greatest(c.reltuples, 0)) + 1000
                                               FROM pg_class c
                                              WHERE c.oid IN ('analytics.mv_user_monthly_summary'::regclass,
                                                              'analytics.mv_document_popularity'::regclass));
  IF rebuild THEN
    DELETE FROM analytics.mv_user_monthly_summary;
    INSERT INTO analytics.mv_user_monthly_summary SELECT * FROM analytics.user_monthly_summary_source;
    DELETE FROM analytics.mv_document_popularity;
    INSERT INTO analytics.mv_document_popularity SELECT * FROM analytics.document_popularity_source;
  ELSE
    -- The keys of the events folded since the last refresh.
    IF w > st.watermark THEN
      SELECT COALESCE(users, '{}') || array_agg(k.user_id), COALESCE(months, '{}') || array_agg(k.month)
        INTO users, months
        FROM (SELECT DISTINCT e.user_id, date_trunc('month', e.usage_date)::date AS month
                FROM analytics.chat_events e
               WHERE e.recorded_xid >= st.watermark AND e.recorded_xid < w) k;
      SELECT COALESCE(docs, '{}') || array_agg(DISTINCT e.document_id)
        INTO docs
        FROM analytics.chat_events e
       WHERE e.recorded_xid >= st.watermark AND e.recorded_xid < w AND e.document_id IS NOT NULL;
    END IF;
    -- The documents whose windows lost a day.
    IF today > st.utc_day THEN
      SELECT COALESCE(docs, '{}') || array_agg(DISTINCT d.document_id)
        INTO docs
        FROM analytics.rollup_documents d
       WHERE d.usage_date > st.utc_day - 30 AND d.usage_date <= today - 30
          OR d.usage_date > st.utc_day - 7 AND d.usage_date <= today - 7;
    END IF;
    IF users IS NOT NULL THEN
      DELETE FROM analytics.mv_user_monthly_summary s
       WHERE (s.user_id, s.month) IN (SELECT * FROM unnest(users, months));
      INSERT INTO analytics.mv_user_monthly_summary
      SELECT s.* FROM analytics.user_monthly_summary_source s
       WHERE (s.user_id, s.month) IN (SELECT * FROM unnest(users, months));
    END IF;
    IF docs IS NOT NULL THEN
      DELETE FROM analytics.mv_document_popularity s WHERE s.document_id = ANY (docs);
      INSERT INTO analytics.mv_document_popularity
      SELECT s.* FROM analytics.document_popularity_source s WHERE s.document_id = ANY (docs);
    END IF;
  END IF;
  UPDATE analytics.summary_refresh
     SET refreshed_at = now(), utc_day = today, watermark = w, events_folded = folded;
END
$$;
COMMENT ON FUNCTION analytics.refresh_all_views() IS
  'Brings mv_user_monthly_summary and mv_document_popularity up to date with the rollups, rewriting only the user-months and documents that changed since the last refresh';
REVOKE ALL ON FUNCTION analytics.refresh_all_views() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.refresh_all_views()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
