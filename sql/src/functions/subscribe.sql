CREATE OR REPLACE FUNCTION analytics.subscribe(user_id text, plan_id text,
    starts_at timestamptz DEFAULT pg_catalog.now(), time_zone text DEFAULT 'UTC',
    ends_at timestamptz DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_id bigint;
BEGIN
  IF subscribe.user_id IS NULL OR subscribe.user_id = '' THEN
    RAISE EXCEPTION 'user_id must not be null or empty' USING ERRCODE = '23502';
  END IF;
  IF subscribe.starts_at IS NULL OR NOT pg_catalog.isfinite(subscribe.starts_at) THEN
    RAISE EXCEPTION 'starts_at must be a finite timestamp' USING ERRCODE = '22008';
  END IF;
  IF subscribe.ends_at IS NOT NULL AND NOT (subscribe.ends_at > subscribe.starts_at) THEN
    RAISE EXCEPTION 'ends_at must be after starts_at' USING ERRCODE = '22023',
      HINT = 'Leave ends_at NULL for a subscription without an end.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM analytics.plans p WHERE p.plan_id = subscribe.plan_id) THEN
    RAISE EXCEPTION 'plan "%" does not exist', subscribe.plan_id
      USING ERRCODE = '42704', HINT = 'See analytics.plans for the defined plans.';
  END IF;
  IF subscribe.time_zone IS NULL
     OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = subscribe.time_zone) THEN
    RAISE EXCEPTION 'unknown time zone "%"', subscribe.time_zone
      USING ERRCODE = '22023', HINT = 'Use a name from pg_timezone_names, such as Europe/Paris or UTC.';
  END IF;
  -- Serialize subscription changes of one user.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('usage_analytics.subscribe:' || subscribe.user_id, 0));
  DELETE FROM analytics.subscriptions s
   WHERE s.user_id = subscribe.user_id AND s.starts_at >= subscribe.starts_at;
  UPDATE analytics.subscriptions s SET ends_at = subscribe.starts_at
   WHERE s.user_id = subscribe.user_id
     AND (s.ends_at IS NULL OR s.ends_at > subscribe.starts_at);
  INSERT INTO analytics.subscriptions (user_id, plan_id, starts_at, ends_at, time_zone)
  VALUES (subscribe.user_id, subscribe.plan_id, subscribe.starts_at, subscribe.ends_at, subscribe.time_zone)
  RETURNING subscription_id INTO v_id;
  RETURN v_id;
END
$$;
COMMENT ON FUNCTION analytics.subscribe(text, text, timestamptz, text, timestamptz) IS
  'Starts a subscription of a user to a plan at starts_at in a time zone, ending the current one, until ends_at (NULL: no end; a trial ends); returns its id';
REVOKE ALL ON FUNCTION analytics.subscribe(text, text, timestamptz, text, timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.subscribe(text, text, timestamptz, text, timestamptz)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.subscribe(text, text, timestamptz, text, timestamptz)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
