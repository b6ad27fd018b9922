-- Invoiced revenue per plan and month: the invoices issued (finalized or
-- paid; drafts and void ones are not revenue), by the local month of their
-- period's start, per currency.  Row-level security of invoices decides.
CREATE OR REPLACE VIEW analytics.revenue_by_plan_month WITH (security_invoker = true) AS
SELECT i.plan_id,
       pg_catalog.date_trunc('month', i.period_start::timestamp)::date AS month,
       i.currency,
       count(*) AS invoices,
       sum(i.subtotal) AS subtotal,
       sum(i.tax) AS tax,
       sum(i.total) AS total,
       COALESCE(sum(i.total) FILTER (WHERE i.status = 'paid'), 0) AS paid,
       COALESCE(sum(i.total) FILTER (WHERE i.status = 'finalized'), 0) AS outstanding
  FROM analytics.invoices i
 WHERE i.status IN ('finalized', 'paid')
 GROUP BY i.plan_id, pg_catalog.date_trunc('month', i.period_start::timestamp)::date, i.currency;
COMMENT ON VIEW analytics.revenue_by_plan_month IS
  'Revenue per plan, month (local month of the billing period''s start) and currency from the invoices issued (finalized or paid): subtotal, tax, total, paid and outstanding; row-level security of invoices decides';
REVOKE ALL ON analytics.revenue_by_plan_month FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.revenue_by_plan_month', 'SELECT')
  ON CONFLICT DO NOTHING;
