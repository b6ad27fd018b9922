-- Seed 004's overdue invoices: finalized (not paid, not void) and past
-- their due date, a date of the invoice's time zone (overdue from the
-- local day after it).  Row-level security of invoices decides.
CREATE OR REPLACE VIEW analytics.overdue_invoices WITH (security_invoker = true) AS
SELECT i.invoice_id, i.invoice_number, i.org_id, i.user_id, i.plan_id, i.currency, i.total, i.due_date,
       (pg_catalog.now() AT TIME ZONE i.time_zone)::date - i.due_date AS days_overdue
  FROM analytics.invoices i
 WHERE i.status = 'finalized'
   AND i.due_date < (pg_catalog.now() AT TIME ZONE i.time_zone)::date;
COMMENT ON VIEW analytics.overdue_invoices IS
  'Finalized invoices not paid by their due date (local date of the invoice''s time zone), with the days overdue; row-level security of invoices decides';
REVOKE ALL ON analytics.overdue_invoices FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.overdue_invoices', 'SELECT')
  ON CONFLICT DO NOTHING;
