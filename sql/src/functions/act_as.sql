CREATE OR REPLACE FUNCTION analytics.act_as(user_id text, end_user_role name) RETURNS void
  LANGUAGE C VOLATILE CALLED ON NULL INPUT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_act_as';
COMMENT ON FUNCTION analytics.act_as(text, name) IS
  'For the rest of the current transaction, act for end user user_id as end_user_role (SET LOCAL of usage_analytics.user_id and role); app backends only, inside a transaction block';
REVOKE ALL ON FUNCTION analytics.act_as(text, name) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.act_as(text, name)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
