CREATE OR REPLACE FUNCTION analytics.authenticate_api_key(api_key text, origin text DEFAULT NULL,
    ip inet DEFAULT NULL, scope text DEFAULT NULL,
    OUT key_id bigint, OUT org_id text, OUT environment text, OUT scopes text[])
  RETURNS record
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_authenticate_api_key';
COMMENT ON FUNCTION analytics.authenticate_api_key(text, text, inet, text) IS
  'Authenticates an API key for a request from origin and ip needing scope: the key''s id, organization, environment and scopes, or an error whose SQLSTATE says why (README "API keys")';
REVOKE ALL ON FUNCTION analytics.authenticate_api_key(text, text, inet, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.authenticate_api_key(text, text, inet, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
