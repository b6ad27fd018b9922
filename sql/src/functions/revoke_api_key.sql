CREATE OR REPLACE FUNCTION analytics.revoke_api_key(org_id text, key_id bigint) RETURNS timestamptz
  LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  revoked timestamptz;
BEGIN
  UPDATE analytics.api_keys k
     SET revoked_at = LEAST(COALESCE(k.revoked_at, 'infinity'), now())
   WHERE k.org_id = revoke_api_key.org_id AND k.key_id = revoke_api_key.key_id
  RETURNING k.revoked_at INTO revoked;
  IF revoked IS NULL THEN
    RAISE EXCEPTION 'API key % of organization "%" does not exist', revoke_api_key.key_id, revoke_api_key.org_id
      USING ERRCODE = '42704';
  END IF;
  RETURN revoked;
END
$$;
COMMENT ON FUNCTION analytics.revoke_api_key(text, bigint) IS
  'Revokes an API key now (ending a rotated key''s grace period); revoking again keeps the first time; returns revoked_at';
REVOKE ALL ON FUNCTION analytics.revoke_api_key(text, bigint) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.revoke_api_key(text, bigint)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
