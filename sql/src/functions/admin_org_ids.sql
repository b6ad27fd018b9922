CREATE OR REPLACE FUNCTION analytics.admin_org_ids() RETURNS text[]
  LANGUAGE C STABLE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_admin_org_ids';
COMMENT ON FUNCTION analytics.admin_org_ids() IS
  'Organizations the current role administers: RLS lets it read their events';
REVOKE ALL ON FUNCTION analytics.admin_org_ids() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.admin_org_ids()', 'EXECUTE')
  ON CONFLICT DO NOTHING;
