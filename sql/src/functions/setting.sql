CREATE OR REPLACE FUNCTION analytics.setting(name text) RETURNS text
  LANGUAGE C STABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_setting';
COMMENT ON FUNCTION analytics.setting(text) IS
  'The value of setting usage_analytics.<name> as SHOW prints it; works as the first call of a session';
REVOKE ALL ON FUNCTION analytics.setting(text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.setting(text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
