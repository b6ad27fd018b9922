CREATE OR REPLACE FUNCTION analytics.subscribe(user_id text, plan_id text,
    starts_at timestamptz DEFAULT pg_catalog.now(), time_zone text DEFAULT NULL,
    ends_at timestamptz DEFAULT NULL, org_id text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_id bigint;
  v_zone text := subscribe.time_zone;
  v_org_zone text;
  v_trial_days integer;
  v_trial_end timestamptz;
BEGIN
  IF subscribe.org_id IS NOT NULL AND subscribe.user_id IS NOT NULL THEN
    RAISE EXCEPTION 'a subscription binds a user or an organization, not both' USING ERRCODE = '22023',
      HINT = 'Pass user_id NULL with org_id.';
  END IF;
  IF subscribe.org_id IS NULL AND (subscribe.user_id IS NULL OR subscribe.user_id = '') THEN
    RAISE EXCEPTION 'user_id must not be null or empty' USING ERRCODE = '23502',
      HINT = 'Pass org_id to subscribe an organization.';
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
  IF subscribe.org_id IS NOT NULL THEN
    -- An organization's day and month follow its own time zone.
    SELECT o.time_zone INTO v_org_zone FROM analytics.organizations o WHERE o.org_id = subscribe.org_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'organization "%" does not exist', subscribe.org_id USING ERRCODE = '42704';
    END IF;
    IF v_zone IS NOT NULL AND v_zone <> v_org_zone THEN
      RAISE EXCEPTION 'an organization''s plan follows the organization''s time zone (%), not %', v_org_zone, v_zone
        USING ERRCODE = '22023', HINT = 'Change it with analytics.update_organization, or leave time_zone out.';
    END IF;
    v_zone := v_org_zone;
  END IF;
  v_zone := COALESCE(v_zone, 'UTC');
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = v_zone) THEN
    RAISE EXCEPTION 'unknown time zone "%"', v_zone
      USING ERRCODE = '22023', HINT = 'Use a name from pg_timezone_names, such as Europe/Paris or UTC.';
  END IF;
  IF subscribe.org_id IS NOT NULL THEN
    -- Serialize subscription changes of one organization.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('usage_analytics.subscribe_org:' || subscribe.org_id, 0));
    DELETE FROM analytics.subscriptions s
     WHERE s.org_id = subscribe.org_id AND s.starts_at >= subscribe.starts_at;
    UPDATE analytics.subscriptions s SET ends_at = subscribe.starts_at
     WHERE s.org_id = subscribe.org_id
       AND (s.ends_at IS NULL OR s.ends_at > subscribe.starts_at);
  ELSE
    -- Serialize subscription changes of one user.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('usage_analytics.subscribe:' || subscribe.user_id, 0));
    DELETE FROM analytics.subscriptions s
     WHERE s.user_id = subscribe.user_id AND s.starts_at >= subscribe.starts_at;
    UPDATE analytics.subscriptions s SET ends_at = subscribe.starts_at
     WHERE s.user_id = subscribe.user_id
       AND (s.ends_at IS NULL OR s.ends_at > subscribe.starts_at);
  END IF;
  -- A subject's first subscription to a plan with trial days starts with
  -- the trial (README "Billing").
  SELECT p.trial_days INTO v_trial_days FROM analytics.plans p WHERE p.plan_id = subscribe.plan_id;
  IF v_trial_days > 0
     AND NOT EXISTS (SELECT 1 FROM analytics.subscriptions s
                      WHERE (s.user_id = subscribe.user_id OR s.org_id = subscribe.org_id)) THEN
    v_trial_end := subscribe.starts_at + pg_catalog.make_interval(days => v_trial_days);
  END IF;
  INSERT INTO analytics.subscriptions (user_id, org_id, plan_id, starts_at, ends_at, time_zone, trial_ends_at, status)
  VALUES (subscribe.user_id, subscribe.org_id, subscribe.plan_id, subscribe.starts_at, subscribe.ends_at, v_zone,
          v_trial_end, CASE WHEN v_trial_end IS NULL THEN 'active' ELSE 'trialing' END)
  RETURNING subscription_id INTO v_id;
  RETURN v_id;
END
$$;
COMMENT ON FUNCTION analytics.subscribe(text, text, timestamptz, text, timestamptz, text) IS
  'Starts a subscription of a user (or, with org_id and user_id NULL, of an organization, in its time zone) to a plan at starts_at in a time zone (default UTC), ending the current one, until ends_at (NULL: no end; a trial ends); the subject''s first subscription to a plan with trial_days gets that trial (trial_ends_at, status trialing); returns its id';
REVOKE ALL ON FUNCTION analytics.subscribe(text, text, timestamptz, text, timestamptz, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.subscribe(text, text, timestamptz, text, timestamptz, text)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.subscribe(text, text, timestamptz, text, timestamptz, text)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
