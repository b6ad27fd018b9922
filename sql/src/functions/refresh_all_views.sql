CREATE OR REPLACE FUNCTION analytics.refresh_all_views() RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  mv regclass;
BEGIN
  FOREACH mv IN ARRAY ARRAY['analytics.mv_user_monthly_summary', 'analytics.mv_document_popularity']::regclass[] LOOP
    IF (SELECT c.relispopulated FROM pg_class c WHERE c.oid = mv) THEN
      EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', mv);
    ELSE
      EXECUTE format('REFRESH MATERIALIZED VIEW %s', mv);
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION analytics.refresh_all_views() IS
  'Refreshes the materialized views from the rollups (concurrently once populated)';
REVOKE ALL ON FUNCTION analytics.refresh_all_views() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.refresh_all_views()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
