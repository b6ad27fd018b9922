CREATE OR REPLACE FUNCTION analytics.plan_meter_quantities(org_id text, user_id text, plan_id text,
    period_start date, period_end date)
  RETURNS TABLE (meter_id text, quantity numeric, included_units numeric, pricing jsonb)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  u jsonb;
BEGIN
  IF (plan_meter_quantities.org_id IS NULL) = (plan_meter_quantities.user_id IS NULL) THEN
    RAISE EXCEPTION 'give an organization or a user, not both or neither' USING ERRCODE = '22023';
  END IF;
  IF plan_meter_quantities.period_start IS NULL OR plan_meter_quantities.period_end IS NULL
     OR NOT pg_catalog.isfinite(plan_meter_quantities.period_start)
     OR NOT pg_catalog.isfinite(plan_meter_quantities.period_end) THEN
    RAISE EXCEPTION 'period_start and period_end must be finite dates' USING ERRCODE = '22008';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM analytics.plans p WHERE p.plan_id = plan_meter_quantities.plan_id) THEN
    RAISE EXCEPTION 'plan "%" does not exist', plan_meter_quantities.plan_id USING ERRCODE = '42704';
  END IF;
  u := analytics.subject_usage(plan_meter_quantities.org_id, plan_meter_quantities.user_id,
                               plan_meter_quantities.period_start,
                               GREATEST(plan_meter_quantities.period_start, plan_meter_quantities.period_end));
  RETURN QUERY
    SELECT c.meter_id, (u->>m.quantity)::numeric * (1 + m.markup), (c.pricing->>'included_units')::numeric, c.pricing
      FROM analytics.plan_pricing(plan_meter_quantities.plan_id) c
      JOIN analytics.meters m ON m.meter_id = c.meter_id
     ORDER BY c.meter_id;
END
$$;
COMMENT ON FUNCTION analytics.plan_meter_quantities(text, text, text, date, date) IS
  'Every meter a plan charges, with its quantity for an organization (org_id) or a user (user_id) over local days [period_start, period_end), the units included and the pricing (one read of the counters and rollups)';
REVOKE ALL ON FUNCTION analytics.plan_meter_quantities(text, text, text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'FUNCTION', 'analytics.plan_meter_quantities(text, text, text, date, date)', 'EXECUTE', false),
  ('admin', 'FUNCTION', 'analytics.plan_meter_quantities(text, text, text, date, date)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
