CREATE OR REPLACE FUNCTION analytics.cancel_subscription(subscription_id bigint,
    at_period_end boolean DEFAULT true, at timestamptz DEFAULT pg_catalog.now())
  RETURNS timestamptz
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s analytics.subscriptions;
  v_end timestamptz;
BEGIN
  IF cancel_subscription.subscription_id IS NULL OR cancel_subscription.at_period_end IS NULL
     OR cancel_subscription.at IS NULL THEN
    RAISE EXCEPTION 'subscription_id, at_period_end and at must not be null' USING ERRCODE = '23502';
  END IF;
  IF NOT pg_catalog.isfinite(cancel_subscription.at) THEN
    RAISE EXCEPTION 'at must be a finite timestamp' USING ERRCODE = '22008';
  END IF;
  SELECT * INTO s FROM analytics.subscriptions x WHERE x.subscription_id = cancel_subscription.subscription_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'subscription % does not exist', cancel_subscription.subscription_id USING ERRCODE = '42704';
  END IF;
  IF s.ends_at IS NOT NULL AND s.ends_at <= cancel_subscription.at THEN
    RAISE EXCEPTION 'subscription % has ended already', cancel_subscription.subscription_id USING ERRCODE = '55000';
  END IF;
  v_end := cancel_subscription.at;
  IF cancel_subscription.at_period_end THEN
    -- The end of the billing period holding `at` (the trial's end in a trial).
    SELECT b.period_end_at INTO v_end
      FROM analytics.billing_period(s.org_id, s.user_id, cancel_subscription.at) b
     WHERE b.subscription_id = s.subscription_id;
    v_end := COALESCE(v_end, cancel_subscription.at);
  END IF;
  UPDATE analytics.subscriptions x
     SET ends_at = LEAST(v_end, COALESCE(x.ends_at, v_end)), cancelled_at = cancel_subscription.at,
         cancel_at_period_end = cancel_subscription.at_period_end,
         status = CASE WHEN v_end <= pg_catalog.now() THEN 'cancelled' ELSE x.status END
   WHERE x.subscription_id = s.subscription_id
  RETURNING x.ends_at INTO v_end;
  RETURN v_end;
END
$$;
COMMENT ON FUNCTION analytics.cancel_subscription(bigint, boolean, timestamptz) IS
  'Cancels a subscription at the end of its current billing period (at_period_end, the default: cancel_at_period_end) or at `at`; sets ends_at and cancelled_at (status cancelled once it has ended); returns the end';
REVOKE ALL ON FUNCTION analytics.cancel_subscription(bigint, boolean, timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'FUNCTION', 'analytics.cancel_subscription(bigint, boolean, timestamptz)', 'EXECUTE', false),
  ('admin', 'FUNCTION', 'analytics.cancel_subscription(bigint, boolean, timestamptz)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
