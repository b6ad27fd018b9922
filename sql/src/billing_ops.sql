/*-------------------------------------------------------------------------
 * billing_ops.sql
 *    What surrounds the invoices of billing.sql: an invoice as a payment
 *    provider's JSON (invoice_json), the outbox of finalized invoices and
 *    per-period usage records that an external biller drains (at least
 *    once, with NOTIFY usage_analytics_billing), the revenue reports of
 *    seed 004 under row-level security, billing warnings (included units
 *    at 80 % and 100 %, overage started) into notifications, and the
 *    management of prepaid credits (grant_credits, credit_balance).
 *    Nothing here runs on the per-event write path.
 *-------------------------------------------------------------------------
 */

/* ------------------------------------------------------------------------
 * Export: an invoice as JSON, amounts in minor units of its currency
 * ------------------------------------------------------------------------ */

\ir functions/invoice_json.sql

/* ------------------------------------------------------------------------
 * The billing outbox: one row per finalized invoice (kind 'invoice') and
 * per meter billed on it (kind 'usage_record'), written at the commit of
 * the transaction that finalized the invoice (a deferred constraint
 * trigger on invoices), announced with NOTIFY usage_analytics_billing
 * (payload: the outbox_id), claimed by an external biller with a lease
 * and acknowledged when delivered.  idempotency_key is stable (it names
 * the invoice and the meter, nothing of the delivery): the biller sends it
 * to the provider, which delivers each key once.
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.billing_outbox (
  outbox_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('invoice', 'usage_record')),
  org_id          text,
  user_id         text,
  invoice_id      bigint NOT NULL REFERENCES analytics.invoices (invoice_id),
  meter_id        text,
  idempotency_key text NOT NULL UNIQUE,
  payload         jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  leased_until    timestamptz,
  claimed_by      text,
  claims          integer NOT NULL DEFAULT 0,
  delivered_at    timestamptz,
  CONSTRAINT billing_outbox_subject_check CHECK ((user_id IS NULL) <> (org_id IS NULL)),
  CONSTRAINT billing_outbox_meter_check CHECK ((kind = 'usage_record') = (meter_id IS NOT NULL))
);
CREATE INDEX billing_outbox_pending_idx ON analytics.billing_outbox (outbox_id) WHERE delivered_at IS NULL;
COMMENT ON TABLE analytics.billing_outbox IS
  'Finalized invoices (kind invoice, payload invoice_json) and their meters'' usage per billing period (kind usage_record) for an external biller: written once when the invoice is finalized, announced with NOTIFY usage_analytics_billing (payload outbox_id), claimed with a lease (claim_billing_outbox) and acknowledged (ack_billing_outbox); at least once, deduplicated by idempotency_key';
COMMENT ON COLUMN analytics.billing_outbox.idempotency_key IS
  'Stable key of the message (usage_analytics:invoice:<invoice_id>, usage_analytics:usage_record:<invoice_id>:<meter_id>): the consumer passes it as the provider''s idempotency key, so a redelivery changes nothing';
COMMENT ON COLUMN analytics.billing_outbox.leased_until IS
  'The claim''s lease: until then no other claim returns the row; after it, an unacknowledged row is claimed again';
COMMENT ON COLUMN analytics.billing_outbox.claims IS
  'How many times the row was claimed (more than 1: redelivered after a lease ended)';
ALTER TABLE analytics.billing_outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY billing_outbox_read ON analytics.billing_outbox FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));
SELECT pg_catalog.pg_extension_config_dump('analytics.billing_outbox', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.billing_outbox_outbox_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'TABLE', 'analytics.billing_outbox', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.billing_outbox', 'SELECT', true)
  ON CONFLICT DO NOTHING;

\ir functions/billing_outbox_enqueue.sql
-- At the commit of the transaction that takes an invoice out of draft
-- (deferred: the invoice and its lines are final by then).  Only on
-- UPDATE: invoices are made as drafts, and a restore (which inserts
-- finalized invoices and the outbox rows already written) writes nothing.
CREATE CONSTRAINT TRIGGER billing_outbox_on_finalize AFTER UPDATE OF status ON analytics.invoices
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (OLD.status = 'draft' AND NEW.status <> 'draft')
  EXECUTE FUNCTION analytics.billing_outbox_enqueue();

\ir functions/claim_billing_outbox.sql

\ir functions/ack_billing_outbox.sql

/* ------------------------------------------------------------------------
 * Reports (seed 004), under the row-level security of invoices,
 * subscriptions and the counters: owners and admins of an organization
 * (and its grant_admin roles) read its figures, a user their own, app
 * backends and all-rows admins everything.  Amounts per currency (no
 * conversion).
 * ------------------------------------------------------------------------ */

\ir views/billing_mrr.sql

\ir functions/mrr.sql

\ir views/revenue_by_plan_month.sql

\ir views/overdue_invoices.sql

\ir views/customer_lifetime_value.sql

\ir functions/top_subjects_by_cost.sql

/* ------------------------------------------------------------------------
 * Billing warnings: a subject's usage of a meter in its current billing
 * period reached 80 % or 100 % of the units its plan includes, or went
 * beyond them (overage started).  Evaluated by evaluate_billing_warnings()
 * (the usage_analytics_billing_warnings job), never on the write path.
 * ------------------------------------------------------------------------ */

\ir functions/evaluate_billing_warnings.sql

/* ------------------------------------------------------------------------
 * Prepaid credits: granting and the balance
 * ------------------------------------------------------------------------ */

\ir functions/grant_credits.sql

\ir functions/credit_balance.sql
