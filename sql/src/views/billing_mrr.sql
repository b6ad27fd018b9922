-- Monthly recurring revenue per subscription in force now: the plan's base
-- fee normalised to a month (monthly: price_per_month; yearly: its yearly
-- price, price_per_year or 12 x price_per_month, divided by 12), in the
-- plan's currency, unrounded.  Counted: status active or past_due (still
-- billed).  Not counted: trialing (or a trial not yet over), cancelled,
-- unpaid (collection stopped), subscriptions ended or not yet started.
-- Usage charges are not recurring: they are in revenue_by_plan_month.
-- ARR = 12 x MRR.  Row-level security of subscriptions decides.
CREATE OR REPLACE VIEW analytics.billing_mrr WITH (security_invoker = true) AS
SELECT s.subscription_id, s.org_id, s.user_id, s.plan_id, s.status, p.billing_cycle, p.currency,
       CASE p.billing_cycle WHEN 'yearly' THEN COALESCE(p.price_per_year, 12 * p.price_per_month) / 12
                            ELSE p.price_per_month END AS mrr,
       CASE p.billing_cycle WHEN 'yearly' THEN COALESCE(p.price_per_year, 12 * p.price_per_month)
                            ELSE 12 * p.price_per_month END AS arr
  FROM analytics.subscriptions s
  JOIN analytics.plans p ON p.plan_id = s.plan_id
 WHERE s.status IN ('active', 'past_due')
   AND s.starts_at <= pg_catalog.now() AND (s.ends_at IS NULL OR s.ends_at > pg_catalog.now())
   AND (s.trial_ends_at IS NULL OR s.trial_ends_at <= pg_catalog.now());
COMMENT ON VIEW analytics.billing_mrr IS
  'Monthly and annual recurring revenue of each subscription in force now with status active or past_due (trialing, cancelled and unpaid excluded): the base fee per month (yearly plans / 12) and per year, in the plan''s currency; row-level security of subscriptions decides';
REVOKE ALL ON analytics.billing_mrr FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.billing_mrr', 'SELECT')
  ON CONFLICT DO NOTHING;
