CREATE OR REPLACE FUNCTION analytics.current_user_id() RETURNS text
  LANGUAGE C STABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_current_user_id';
COMMENT ON FUNCTION analytics.current_user_id() IS
  'The end user this session acts for: usage_analytics.user_id, or the request.jwt.claims subject when usage_analytics.trust_jwt_claims is on; NULL when unset';
REVOKE ALL ON FUNCTION analytics.current_user_id() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.current_user_id()', 'EXECUTE')
  ON CONFLICT DO NOTHING;
