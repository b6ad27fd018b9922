CREATE OR REPLACE FUNCTION analytics.authorize_api_request(api_key text, origin text DEFAULT NULL,
    ip inet DEFAULT NULL, scope text DEFAULT NULL,
    OUT allowed boolean, OUT status text, OUT key_id bigint, OUT org_id text, OUT environment text,
    OUT scopes text[], OUT limit_name text, OUT remaining bigint, OUT resets_at timestamptz)
  RETURNS record
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_authorize_api_request';
COMMENT ON FUNCTION analytics.authorize_api_request(text, text, inet, text) IS
  'The gateway''s call per request: authenticate_api_key, then charge the key''s per-minute and per-hour limits (exact under concurrency, fixed UTC windows); a refusal answers allowed = false, status rate_limited and is counted in api_key_rate_limited';
REVOKE ALL ON FUNCTION analytics.authorize_api_request(text, text, inet, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.authorize_api_request(text, text, inet, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
