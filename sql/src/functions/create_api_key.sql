CREATE OR REPLACE FUNCTION analytics.create_api_key(
    org_id                text,
    name                  text,
    scopes                text[]      DEFAULT '{}',
    environment           text        DEFAULT 'live',
    expires_at            timestamptz DEFAULT NULL,
    rate_limit_per_hour   integer     DEFAULT NULL,
    rate_limit_per_minute integer     DEFAULT NULL,
    allowed_origins       text[]      DEFAULT NULL,
    ip_allowlist          cidr[]      DEFAULT NULL,
    OUT key_id bigint, OUT key_prefix text, OUT api_key text)
  RETURNS record
  LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  g record;
  org_status text;
  n bigint;
BEGIN
  IF create_api_key.org_id IS NULL OR create_api_key.name IS NULL THEN
    RAISE EXCEPTION 'org_id and name are required' USING ERRCODE = '23502';
  END IF;
  SELECT o.status INTO org_status FROM analytics.organizations o WHERE o.org_id = create_api_key.org_id;
  IF org_status IS NULL THEN
    RAISE EXCEPTION 'organization "%" does not exist', create_api_key.org_id USING ERRCODE = '42704';
  ELSIF org_status <> 'active' THEN
    RAISE EXCEPTION 'organization "%" is suspended', create_api_key.org_id USING ERRCODE = '55000',
      DETAIL = 'Keys are made for active organizations only.';
  END IF;
  IF create_api_key.name = '' THEN
    RAISE EXCEPTION 'name must not be empty' USING ERRCODE = '22023';
  ELSIF octet_length(create_api_key.name) > 128 THEN
    RAISE EXCEPTION 'name is longer than 128 bytes' USING ERRCODE = '22001';
  END IF;
  IF create_api_key.environment IS NULL OR create_api_key.environment NOT IN ('live', 'test') THEN
    RAISE EXCEPTION 'environment must be live or test' USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(create_api_key.scopes) s WHERE s IS NULL OR s = '' OR octet_length(s) > 128) THEN
    RAISE EXCEPTION 'a scope is NULL, empty or longer than 128 bytes' USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(create_api_key.allowed_origins) s WHERE s IS NULL OR s = '' OR octet_length(s) > 1024) THEN
    RAISE EXCEPTION 'an allowed origin is NULL, empty or longer than 1,024 bytes' USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(create_api_key.ip_allowlist) s WHERE s IS NULL) THEN
    RAISE EXCEPTION 'an ip_allowlist entry is NULL' USING ERRCODE = '22023';
  END IF;
  IF create_api_key.rate_limit_per_minute <= 0 OR create_api_key.rate_limit_per_hour <= 0 THEN
    RAISE EXCEPTION 'rate limits must be positive (NULL: no limit)' USING ERRCODE = '22023';
  END IF;
  IF create_api_key.expires_at <= now() THEN
    RAISE EXCEPTION 'expires_at must be in the future' USING ERRCODE = '22023';
  END IF;

  -- A new prefix until it is unique (8 random base62 characters: a
  -- collision is rare; each try draws a new key).
  FOR i IN 1..5 LOOP
    g := analytics.api_key_generate(create_api_key.environment);
    BEGIN
      INSERT INTO analytics.api_keys AS k
        (org_id, key_prefix, key_hash, name, environment, scopes, allowed_origins, ip_allowlist,
         rate_limit_per_minute, rate_limit_per_hour, expires_at, created_by)
      VALUES (create_api_key.org_id, g.key_prefix, g.key_hash, create_api_key.name, create_api_key.environment,
              COALESCE(create_api_key.scopes, '{}'), create_api_key.allowed_origins, create_api_key.ip_allowlist,
              create_api_key.rate_limit_per_minute, create_api_key.rate_limit_per_hour, create_api_key.expires_at,
              COALESCE(analytics.current_user_id(), session_user::text))
      RETURNING k.key_id INTO create_api_key.key_id;
      EXIT;
    EXCEPTION WHEN unique_violation THEN
      IF i = 5 THEN
        RAISE;
      END IF;
    END;
  END LOOP;
  key_prefix := g.key_prefix;
  api_key := g.api_key;

  -- The organization's notification, announced with NOTIFY.
  WITH w AS (
    INSERT INTO analytics.notifications AS x
      (user_id, limit_name, period_start, threshold, used, limit_value, plan_id, org_id)
    VALUES ('', 'api_key_created:' || create_api_key.key_id, (now() AT TIME ZONE 'UTC')::date, 1, 0, 0, '',
            create_api_key.org_id)
    ON CONFLICT ON CONSTRAINT notifications_pkey DO NOTHING
    RETURNING x.*)
  SELECT count(pg_notify('usage_analytics', jsonb_build_object(
           'notification_id', w.notification_id, 'user_id', w.user_id, 'org_id', w.org_id,
           'limit', w.limit_name, 'key_id', create_api_key.key_id, 'key_prefix', g.key_prefix,
           'expires_at', create_api_key.expires_at)::text))
    INTO n FROM w;
END
$$;
COMMENT ON FUNCTION analytics.create_api_key(text, text, text[], text, timestamptz, integer, integer, text[], cidr[]) IS
  'Makes an API key for an active organization and returns it once (ua_live_/ua_test_ and 40 random base62 characters); stores only its prefix and SHA-256; notifies api_key_created';
REVOKE ALL ON FUNCTION analytics.create_api_key(text, text, text[], text, timestamptz, integer, integer, text[], cidr[]) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.create_api_key(text, text, text[], text, timestamptz, integer, integer, text[], cidr[])', 'EXECUTE')
  ON CONFLICT DO NOTHING;
