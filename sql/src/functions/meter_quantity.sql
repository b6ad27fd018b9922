CREATE OR REPLACE FUNCTION analytics.meter_quantity(org_id text, user_id text, meter_id text,
    period_start date, period_end date)
  RETURNS numeric
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  m analytics.meters;
BEGIN
  IF (meter_quantity.org_id IS NULL) = (meter_quantity.user_id IS NULL) THEN
    RAISE EXCEPTION 'give an organization or a user, not both or neither' USING ERRCODE = '22023';
  END IF;
  IF meter_quantity.period_start IS NULL OR meter_quantity.period_end IS NULL
     OR NOT pg_catalog.isfinite(meter_quantity.period_start) OR NOT pg_catalog.isfinite(meter_quantity.period_end) THEN
    RAISE EXCEPTION 'period_start and period_end must be finite dates' USING ERRCODE = '22008';
  END IF;
  SELECT * INTO m FROM analytics.meters x WHERE x.meter_id = meter_quantity.meter_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'meter "%" does not exist', meter_quantity.meter_id USING ERRCODE = '42704';
  END IF;
  IF meter_quantity.period_end <= meter_quantity.period_start THEN
    RETURN 0;
  END IF;
  RETURN (analytics.subject_usage(meter_quantity.org_id, meter_quantity.user_id,
                                  meter_quantity.period_start, meter_quantity.period_end)->>m.quantity)::numeric
         * (1 + m.markup);
END
$$;
COMMENT ON FUNCTION analytics.meter_quantity(text, text, text, date, date) IS
  'A meter''s quantity for an organization (org_id) or a user (user_id) over local days [period_start, period_end), read from the counters and rollups as generate_invoices reads it (API meters: the UTC days of the same dates, as of the last fold)';
REVOKE ALL ON FUNCTION analytics.meter_quantity(text, text, text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'FUNCTION', 'analytics.meter_quantity(text, text, text, date, date)', 'EXECUTE', false),
  ('admin', 'FUNCTION', 'analytics.meter_quantity(text, text, text, date, date)', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
