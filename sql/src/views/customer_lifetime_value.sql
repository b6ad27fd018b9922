-- Seed 004's customer lifetime value, per subject and currency, from paid
-- invoices: lifetime_value is what the subject paid (sum of the totals of
-- its paid invoices); tenure_months the months from the start of its
-- first paid period to the end of its last (days / (365.25 / 12), two
-- decimals); avg_monthly_revenue = lifetime_value / tenure_months.
-- Row-level security of invoices decides.
CREATE OR REPLACE VIEW analytics.customer_lifetime_value WITH (security_invoker = true) AS
SELECT x.org_id, x.user_id, x.currency, x.paid_invoices, x.lifetime_value, x.first_period_start, x.last_period_end,
       x.tenure_months,
       CASE WHEN x.tenure_months > 0 THEN pg_catalog.round(x.lifetime_value / x.tenure_months, c.minor_unit) END
         AS avg_monthly_revenue
  FROM (SELECT i.org_id, i.user_id, i.currency, count(*) AS paid_invoices, sum(i.total) AS lifetime_value,
               min(i.period_start_at) AS first_period_start, max(i.period_end_at) AS last_period_end,
               pg_catalog.round((pg_catalog.date_part('epoch', max(i.period_end_at) - min(i.period_start_at))
                                 / 86400 / (365.25 / 12))::numeric, 2) AS tenure_months
          FROM analytics.invoices i
         WHERE i.status = 'paid'
         GROUP BY i.org_id, i.user_id, i.currency) x
  JOIN analytics.currencies c ON c.currency = x.currency;
COMMENT ON VIEW analytics.customer_lifetime_value IS
  'Per subject and currency, from paid invoices: lifetime_value (total paid), paid_invoices, tenure_months (first paid period''s start to last one''s end, months of 365.25/12 days) and avg_monthly_revenue (lifetime_value / tenure_months); row-level security of invoices decides';
REVOKE ALL ON analytics.customer_lifetime_value FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.customer_lifetime_value', 'SELECT')
  ON CONFLICT DO NOTHING;
