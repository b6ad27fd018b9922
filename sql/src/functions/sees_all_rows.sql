CREATE OR REPLACE FUNCTION analytics.sees_all_rows() RETURNS boolean
  LANGUAGE C STABLE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_sees_all_rows';
COMMENT ON FUNCTION analytics.sees_all_rows() IS
  'True for superusers, app-backend roles and all-rows admins: RLS lets them read every user''s rows';
REVOKE ALL ON FUNCTION analytics.sees_all_rows() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.sees_all_rows()', 'EXECUTE')
  ON CONFLICT DO NOTHING;
