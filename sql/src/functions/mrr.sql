/*
 * MRR and ARR per currency at an instant, by the rule of billing_mrr
 * (active and past_due subscriptions in force at as_of, trials over; base
 * fees, yearly plans / 12), rounded half-up to the currency's minor unit.
 * SECURITY INVOKER: the caller's row-level security on subscriptions
 * decides which subscriptions count.  The status is today's: a
 * subscription's status history is not kept.
 */
CREATE OR REPLACE FUNCTION analytics.mrr(as_of timestamptz DEFAULT pg_catalog.now())
  RETURNS TABLE (currency text, subscriptions bigint, mrr numeric, arr numeric)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT p.currency, count(*),
           pg_catalog.round(sum(CASE p.billing_cycle WHEN 'yearly' THEN COALESCE(p.price_per_year, 12 * p.price_per_month) / 12
                                     ELSE p.price_per_month END), max(c.minor_unit)),
           pg_catalog.round(sum(CASE p.billing_cycle WHEN 'yearly' THEN COALESCE(p.price_per_year, 12 * p.price_per_month)
                                     ELSE 12 * p.price_per_month END), max(c.minor_unit))
      FROM analytics.subscriptions s
      JOIN analytics.plans p ON p.plan_id = s.plan_id
      JOIN analytics.currencies c ON c.currency = p.currency
     WHERE s.status IN ('active', 'past_due')
       AND s.starts_at <= $1 AND (s.ends_at IS NULL OR s.ends_at > $1)
       AND (s.trial_ends_at IS NULL OR s.trial_ends_at <= $1)
     GROUP BY p.currency
     ORDER BY p.currency;
  END;
COMMENT ON FUNCTION analytics.mrr(timestamptz) IS
  'MRR and ARR per currency at as_of: base fees of the active and past_due subscriptions in force (yearly plans / 12; trialing, cancelled, unpaid excluded), rounded to the minor unit; the caller''s row-level security decides';
REVOKE ALL ON FUNCTION analytics.mrr(timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.mrr(timestamptz)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
