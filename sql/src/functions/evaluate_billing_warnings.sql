/*
 * Billing warnings: for each subscription in force whose current billing
 * period (billing_period: local days of the subject's time zone) is not a
 * trial, and each meter its plan includes units of (plan_pricing:
 * included_units > 0), the meter's quantity so far in the period
 * (meter_quantity, as generate_invoices reads it: counters and rollups,
 * never the raw log).  Reached, one notifications row each, exactly once
 * (the outbox's primary key: subject, limit_name, period_start,
 * threshold; ON CONFLICT DO NOTHING), announced with NOTIFY
 * usage_analytics:
 *   billing_warning:<meter_id>  threshold 0.8  quantity >= 80 % of included
 *   billing_warning:<meter_id>  threshold 1    quantity >= included
 *   billing_overage:<meter_id>  threshold 1    quantity >  included (overage started)
 * used is the quantity, limit_value the included units, period_start the
 * period's first local day; an organization's rows have user_id '' and its
 * org_id.  Subscriptions are taken in one order, so two evaluations never
 * deadlock; a concurrent one waits for the other's rows and writes none.
 * Returns the number of rows written.  The usage_analytics_billing_warnings
 * job runs it every 5 minutes; nothing on the write path.
 */
CREATE OR REPLACE FUNCTION analytics.evaluate_billing_warnings() RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r record;
  q numeric;
  k integer;
  written integer := 0;
BEGIN
  FOR r IN
    SELECT s.subscription_id, s.org_id, s.user_id, bp.plan_id, bp.period_start, bp.period_end, pp.meter_id,
           (pp.pricing->>'included_units')::numeric AS included
      FROM analytics.subscriptions s
     CROSS JOIN LATERAL analytics.billing_period(s.org_id, s.user_id, now()) bp
     CROSS JOIN LATERAL analytics.plan_pricing(bp.plan_id) pp
     WHERE s.starts_at <= now() AND (s.ends_at IS NULL OR s.ends_at > now())
       AND bp.subscription_id = s.subscription_id
       AND NOT bp.trial AND bp.status <> 'trialing'
       AND (pp.pricing->>'included_units')::numeric > 0
     ORDER BY s.subscription_id, pp.meter_id
  LOOP
    q := analytics.meter_quantity(r.org_id, r.user_id, r.meter_id, r.period_start, r.period_end);
    CONTINUE WHEN q IS NULL OR q < 0.8 * r.included;
    WITH n AS (
      INSERT INTO analytics.notifications AS n
        (user_id, org_id, limit_name, period_start, threshold, used, limit_value, plan_id)
      SELECT COALESCE(r.user_id, ''), COALESCE(r.org_id, ''), v.limit_name, r.period_start, v.threshold, q,
             r.included, r.plan_id
        FROM (VALUES ('billing_warning:' || r.meter_id, 0.8, q >= 0.8 * r.included),
                     ('billing_warning:' || r.meter_id, 1, q >= r.included),
                     ('billing_overage:' || r.meter_id, 1, q > r.included)) v(limit_name, threshold, reached)
       WHERE v.reached
       ORDER BY v.limit_name, v.threshold
      ON CONFLICT (user_id, org_id, limit_name, period_start, threshold) DO NOTHING
      RETURNING n.*)
    SELECT count(pg_notify('usage_analytics', (jsonb_build_object(
             'notification_id', n.notification_id, 'user_id', n.user_id, 'kind', 'billing_warning',
             'limit', n.limit_name, 'meter_id', r.meter_id, 'threshold', n.threshold, 'used', n.used,
             'limit_value', n.limit_value, 'plan_id', n.plan_id)
             || CASE WHEN n.org_id <> '' THEN jsonb_build_object('org_id', n.org_id) ELSE '{}' END)::text))
      INTO k FROM n;
    written := written + k;
  END LOOP;
  RETURN written;
END
$$;
COMMENT ON FUNCTION analytics.evaluate_billing_warnings() IS
  'Writes billing warnings to notifications, exactly once per subject, meter, billing period and threshold, with NOTIFY usage_analytics: billing_warning:<meter> at 80 % and 100 % of the units the plan includes, billing_overage:<meter> when usage goes beyond them; trials excluded; returns how many were written';
REVOKE ALL ON FUNCTION analytics.evaluate_billing_warnings() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.evaluate_billing_warnings()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
