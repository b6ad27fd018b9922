CREATE OR REPLACE FUNCTION analytics.billing_period(org_id text, user_id text,
    at timestamptz DEFAULT pg_catalog.now())
  RETURNS TABLE (subscription_id bigint, plan_id text, status text, period_start date, period_end date,
                 period_start_at timestamptz, period_end_at timestamptz, cycle_start date, cycle_end date,
                 time_zone text, trial boolean)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s analytics.subscriptions;
  tz text;
  d date;
BEGIN
  IF (billing_period.org_id IS NULL) = (billing_period.user_id IS NULL) THEN
    RAISE EXCEPTION 'give an organization or a user, not both or neither' USING ERRCODE = '22023';
  END IF;
  IF billing_period.at IS NULL OR NOT pg_catalog.isfinite(billing_period.at) THEN
    RAISE EXCEPTION 'at must be a finite timestamp' USING ERRCODE = '22008';
  END IF;
  -- The subscription in force at `at` (latest start first).
  SELECT * INTO s FROM analytics.subscriptions x
   WHERE (x.org_id = billing_period.org_id OR x.user_id = billing_period.user_id)
     AND x.starts_at <= billing_period.at AND (x.ends_at IS NULL OR x.ends_at > billing_period.at)
   ORDER BY x.starts_at DESC LIMIT 1;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  tz := CASE WHEN s.org_id IS NOT NULL
             THEN (SELECT o.time_zone FROM analytics.organizations o WHERE o.org_id = s.org_id)
             ELSE s.time_zone END;
  d := (billing_period.at AT TIME ZONE tz)::date;
  IF s.trial_ends_at IS NOT NULL AND d < (s.trial_ends_at AT TIME ZONE tz)::date THEN
    -- In the trial: its local days, billed nothing.
    RETURN QUERY SELECT s.subscription_id, s.plan_id, s.status, (s.starts_at AT TIME ZONE tz)::date,
                        (s.trial_ends_at AT TIME ZONE tz)::date,
                        (s.starts_at AT TIME ZONE tz)::date::timestamp AT TIME ZONE tz,
                        (s.trial_ends_at AT TIME ZONE tz)::date::timestamp AT TIME ZONE tz,
                        (s.starts_at AT TIME ZONE tz)::date, (s.trial_ends_at AT TIME ZONE tz)::date, tz, true;
    RETURN;
  END IF;
  RETURN QUERY
    SELECT s.subscription_id, s.plan_id, s.status, p.period_start, p.period_end, p.period_start_at,
           p.period_end_at, p.cycle_start, p.cycle_end, p.time_zone, false
      FROM analytics.subscription_periods(s.subscription_id, NULL, billing_period.at) p
     WHERE p.period_start <= d AND d < p.period_end;
END
$$;
COMMENT ON FUNCTION analytics.billing_period(text, text, timestamptz) IS
  'The billing period of an organization (org_id) or a user (user_id) at a time: its subscription in force, the local days [period_start, period_end) being billed (cut by the subscription''s start and end; in a trial, the trial''s days with trial true), the whole anniversary period and the time zone; no row without a subscription';
REVOKE ALL ON FUNCTION analytics.billing_period(text, text, timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'FUNCTION', 'analytics.billing_period(text, text, timestamptz)', 'EXECUTE', false),
  ('admin', 'FUNCTION', 'analytics.billing_period(text, text, timestamptz)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
