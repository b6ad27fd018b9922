CREATE OR REPLACE FUNCTION analytics.rotate_api_key(org_id text, key_id bigint,
    grace_period interval DEFAULT '24 hours',
    OUT new_key_id bigint, OUT key_prefix text, OUT api_key text, OUT old_key_valid_until timestamptz)
  RETURNS record
  LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  old analytics.api_keys;
  made record;
BEGIN
  IF grace_period IS NULL OR grace_period < interval '0' OR grace_period > interval '30 days' THEN
    RAISE EXCEPTION 'grace_period must be between 0 and 30 days' USING ERRCODE = '22023';
  END IF;
  SELECT * INTO old FROM analytics.api_keys k
   WHERE k.org_id = rotate_api_key.org_id AND k.key_id = rotate_api_key.key_id
   FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'API key % of organization "%" does not exist', rotate_api_key.key_id, rotate_api_key.org_id
      USING ERRCODE = '42704';
  END IF;
  IF old.replaced_by IS NOT NULL OR old.revoked_at <= now() OR old.expires_at <= now() THEN
    RAISE EXCEPTION 'API key % is already rotated, revoked or expired', rotate_api_key.key_id
      USING ERRCODE = '55000', HINT = 'Rotate the key that replaced it, or create a new key.';
  END IF;
  made := analytics.create_api_key(old.org_id, old.name, old.scopes, old.environment, old.expires_at,
                                   old.rate_limit_per_hour, old.rate_limit_per_minute,
                                   old.allowed_origins, old.ip_allowlist);
  UPDATE analytics.api_keys k
     SET revoked_at = LEAST(COALESCE(k.revoked_at, 'infinity'), now() + grace_period),
         replaced_by = made.key_id
   WHERE k.org_id = old.org_id AND k.key_id = old.key_id
  RETURNING k.revoked_at INTO old_key_valid_until;
  new_key_id := made.key_id;
  key_prefix := made.key_prefix;
  api_key := made.api_key;
END
$$;
COMMENT ON FUNCTION analytics.rotate_api_key(text, bigint, interval) IS
  'Replaces an API key by a new one with the same settings, returned once; the old key stays valid for grace_period (default 24 hours, at most 30 days), then is refused as revoked';
REVOKE ALL ON FUNCTION analytics.rotate_api_key(text, bigint, interval) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.rotate_api_key(text, bigint, interval)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
