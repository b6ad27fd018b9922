/*-------------------------------------------------------------------------
 * billing.sql
 *    Usage-based billing (SPEC section 10, README "Billing"): currencies,
 *    meters (named billable quantities read from the counters and rollups),
 *    plan charges per meter with graduated tiers, invoices and their lines,
 *    gapless invoice numbers per year, prepaid credit grants and their
 *    consumption.  Invoicing reads counters and rollups only: it adds
 *    nothing to the per-event write path.
 *-------------------------------------------------------------------------
 */

/* ------------------------------------------------------------------------
 * Currencies: money is numeric, rounded half-up (half away from zero) to
 * the currency's minor unit on every line.
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.currencies (
  currency   text PRIMARY KEY CHECK (currency ~ '^[A-Z]{3}$'),
  minor_unit smallint NOT NULL CHECK (minor_unit BETWEEN 0 AND 4),
  name       text NOT NULL CHECK (name <> ''),
  builtin    boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE analytics.currencies IS
  'ISO 4217 currencies and their minor unit digits (JPY 0, USD 2, KWD 3): every invoice amount is rounded half-up to it';
COMMENT ON COLUMN analytics.currencies.minor_unit IS
  'Digits after the decimal point of the currency''s smallest unit (amounts in minor units = amount * 10^minor_unit)';
ALTER TABLE analytics.currencies ENABLE ROW LEVEL SECURITY;
CREATE POLICY currencies_read ON analytics.currencies FOR SELECT USING (true);
SELECT pg_catalog.pg_extension_config_dump('analytics.currencies', 'WHERE NOT builtin');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.currencies', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.currencies', 'INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

INSERT INTO analytics.currencies (currency, minor_unit, name, builtin) VALUES
  ('USD', 2, 'US Dollar', true), ('EUR', 2, 'Euro', true), ('GBP', 2, 'Pound Sterling', true),
  ('CHF', 2, 'Swiss Franc', true), ('NOK', 2, 'Norwegian Krone', true), ('SEK', 2, 'Swedish Krona', true),
  ('DKK', 2, 'Danish Krone', true), ('PLN', 2, 'Zloty', true), ('CZK', 2, 'Czech Koruna', true),
  ('HUF', 2, 'Forint', true), ('CAD', 2, 'Canadian Dollar', true), ('AUD', 2, 'Australian Dollar', true),
  ('NZD', 2, 'New Zealand Dollar', true), ('SGD', 2, 'Singapore Dollar', true), ('HKD', 2, 'Hong Kong Dollar', true),
  ('CNY', 2, 'Yuan Renminbi', true), ('INR', 2, 'Indian Rupee', true), ('BRL', 2, 'Brazilian Real', true),
  ('MXN', 2, 'Mexican Peso', true), ('ZAR', 2, 'Rand', true), ('ILS', 2, 'New Israeli Sheqel', true),
  ('AED', 2, 'UAE Dirham', true), ('SAR', 2, 'Saudi Riyal', true), ('TRY', 2, 'Turkish Lira', true),
  ('JPY', 0, 'Yen', true), ('KRW', 0, 'Won', true), ('ISK', 0, 'Iceland Krona', true),
  ('CLP', 0, 'Chilean Peso', true), ('VND', 0, 'Dong', true),
  ('KWD', 3, 'Kuwaiti Dinar', true), ('BHD', 3, 'Bahraini Dinar', true), ('OMR', 3, 'Rial Omani', true),
  ('JOD', 3, 'Jordanian Dinar', true), ('TND', 3, 'Tunisian Dinar', true), ('IQD', 3, 'Iraqi Dinar', true),
  ('LYD', 3, 'Libyan Dinar', true);

-- A plan's prices are in one of these currencies.
ALTER TABLE analytics.plans ADD CONSTRAINT plans_currency_fkey
  FOREIGN KEY (currency) REFERENCES analytics.currencies (currency);

/* ------------------------------------------------------------------------
 * Meters: named billable quantities, each read per subject and local day
 * from the exact counters (usage_counters, org_usage_counters) or the
 * folded API rollups (rollup_api_daily, rollup_widget_daily, UTC days).
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.meters (
  meter_id    text PRIMARY KEY CHECK (meter_id ~ '^[a-z][a-z0-9_]{0,63}$'),
  name        text NOT NULL CHECK (name <> ''),
  quantity    text NOT NULL CHECK (quantity IN (
                'requests', 'successful_requests', 'tokens', 'input_tokens', 'cached_input_tokens',
                'cache_write_tokens', 'output_tokens', 'reasoning_tokens', 'cost',
                'active_members', 'active_days',
                'api_requests', 'billable_units', 'widget_impressions')),
  aggregation text NOT NULL CHECK (aggregation IN ('sum', 'count', 'distinct_count')),
  markup      numeric NOT NULL DEFAULT 0 CHECK (markup >= 0 AND markup < 'Infinity'),
  unit        text NOT NULL DEFAULT 'unit' CHECK (unit <> ''),
  description text,
  builtin     boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT meters_quantity_aggregation_check CHECK (aggregation = CASE
      WHEN quantity IN ('requests', 'successful_requests', 'api_requests') THEN 'count'
      WHEN quantity IN ('active_members', 'active_days') THEN 'distinct_count'
      ELSE 'sum' END),
  CONSTRAINT meters_markup_cost_check CHECK (markup = 0 OR quantity = 'cost')
);
COMMENT ON TABLE analytics.meters IS
  'Billable quantities: what a meter counts (quantity) and how (aggregation sum, count or distinct count), read from the counters and rollups per subject and billing period';
COMMENT ON COLUMN analytics.meters.quantity IS
  'requests, successful_requests (not failed), tokens (all ledger buckets), input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost (provider cost in USD, times 1 + markup), active_members (distinct members with a request), active_days (distinct local days with a request): from the counters of LLM requests; api_requests, billable_units, widget_impressions: from the API rollups (organizations only, UTC days)';
COMMENT ON COLUMN analytics.meters.aggregation IS
  'sum, count or distinct_count: follows from quantity (checked)';
COMMENT ON COLUMN analytics.meters.markup IS
  'cost meters only: the quantity is the provider cost times (1 + markup)';
ALTER TABLE analytics.meters ENABLE ROW LEVEL SECURITY;
CREATE POLICY meters_read ON analytics.meters FOR SELECT USING (true);
SELECT pg_catalog.pg_extension_config_dump('analytics.meters', 'WHERE NOT builtin');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.meters', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.meters', 'INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

INSERT INTO analytics.meters (meter_id, name, quantity, aggregation, unit, builtin) VALUES
  ('requests', 'Requests', 'requests', 'count', 'request', true),
  ('successful_requests', 'Successful requests', 'successful_requests', 'count', 'request', true),
  ('tokens', 'Tokens', 'tokens', 'sum', 'token', true),
  ('input_tokens', 'Input tokens', 'input_tokens', 'sum', 'token', true),
  ('cached_input_tokens', 'Cached input tokens', 'cached_input_tokens', 'sum', 'token', true),
  ('cache_write_tokens', 'Cache write tokens', 'cache_write_tokens', 'sum', 'token', true),
  ('output_tokens', 'Output tokens', 'output_tokens', 'sum', 'token', true),
  ('reasoning_tokens', 'Reasoning tokens', 'reasoning_tokens', 'sum', 'token', true),
  ('cost', 'Provider cost', 'cost', 'sum', 'USD', true),
  ('active_members', 'Active members', 'active_members', 'distinct_count', 'member', true),
  ('api_requests', 'API requests', 'api_requests', 'count', 'request', true),
  ('billable_units', 'Billable units', 'billable_units', 'sum', 'unit', true),
  ('widget_impressions', 'Widget impressions', 'widget_impressions', 'sum', 'impression', true);

/* ------------------------------------------------------------------------
 * Plan charges: per plan and meter, units included per period and the
 * price of each block of units beyond them, or graduated tiers.
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.plan_charges (
  plan_id        text NOT NULL REFERENCES analytics.plans (plan_id) ON DELETE CASCADE,
  meter_id       text NOT NULL REFERENCES analytics.meters (meter_id),
  included_units numeric NOT NULL DEFAULT 0 CHECK (included_units >= 0 AND included_units < 'Infinity'),
  block_size     numeric NOT NULL DEFAULT 1 CHECK (block_size > 0 AND block_size < 'Infinity'),
  block_price    numeric NOT NULL DEFAULT 0 CHECK (block_price >= 0 AND block_price < 'Infinity'),
  block_rounding text NOT NULL DEFAULT 'up' CHECK (block_rounding IN ('up', 'down', 'exact')),
  description    text,
  PRIMARY KEY (plan_id, meter_id)
);
COMMENT ON TABLE analytics.plan_charges IS
  'Usage charges of a plan per billing period: included_units of the meter free, then block_price per block of block_size units (or the graduated tiers of plan_charge_tiers), in the plan''s currency';
COMMENT ON COLUMN analytics.plan_charges.block_size IS
  'Units per priced block: 1000 for a price per 1,000 impressions, 1000000 for a price per million tokens';
COMMENT ON COLUMN analytics.plan_charges.block_rounding IS
  'How the overage becomes blocks: up (a started block is billed whole), down (only whole blocks), exact (fractions of a block)';
ALTER TABLE analytics.plan_charges ENABLE ROW LEVEL SECURITY;
CREATE POLICY plan_charges_read ON analytics.plan_charges FOR SELECT USING (true);
SELECT pg_catalog.pg_extension_config_dump('analytics.plan_charges', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.plan_charges', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.plan_charges', 'INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

CREATE TABLE analytics.plan_charge_tiers (
  plan_id     text NOT NULL,
  meter_id    text NOT NULL,
  from_units  numeric NOT NULL CHECK (from_units >= 0 AND from_units < 'Infinity'),
  block_price numeric NOT NULL CHECK (block_price >= 0 AND block_price < 'Infinity'),
  flat_fee    numeric NOT NULL DEFAULT 0 CHECK (flat_fee >= 0 AND flat_fee < 'Infinity'),
  PRIMARY KEY (plan_id, meter_id, from_units),
  FOREIGN KEY (plan_id, meter_id) REFERENCES analytics.plan_charges (plan_id, meter_id) ON DELETE CASCADE
);
COMMENT ON TABLE analytics.plan_charge_tiers IS
  'Graduated tiers of a plan charge: the overage units (beyond included_units) from from_units up to the next tier''s from_units cost block_price per block (block_size and block_rounding of the charge), plus flat_fee once when the tier is reached; with tiers, plan_charges.block_price is not used';
ALTER TABLE analytics.plan_charge_tiers ENABLE ROW LEVEL SECURITY;
CREATE POLICY plan_charge_tiers_read ON analytics.plan_charge_tiers FOR SELECT USING (true);
SELECT pg_catalog.pg_extension_config_dump('analytics.plan_charge_tiers', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.plan_charge_tiers', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.plan_charge_tiers', 'INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

/* ------------------------------------------------------------------------
 * Prepaid credits: grants to an organization or a user, consumed by
 * invoices before they are charged (priority, then expiry).
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.credit_grants (
  grant_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id       text REFERENCES analytics.organizations (org_id),
  user_id      text CHECK (user_id <> ''),
  amount       numeric NOT NULL CHECK (amount > 0 AND amount < 'Infinity'),
  currency     text NOT NULL REFERENCES analytics.currencies (currency),
  priority     integer NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
  effective_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at   timestamptz,
  applies_to   text NOT NULL DEFAULT 'usage' CHECK (applies_to IN ('usage', 'all')),
  category     text NOT NULL DEFAULT 'paid' CHECK (category IN ('paid', 'promotional')),
  name         text,
  voided_at    timestamptz,
  metadata     jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT credit_grants_subject_check CHECK ((user_id IS NULL) <> (org_id IS NULL)),
  CONSTRAINT credit_grants_expiry_check CHECK (expires_at IS NULL OR expires_at > effective_at)
);
CREATE INDEX credit_grants_org_idx ON analytics.credit_grants (org_id, priority, expires_at) WHERE org_id IS NOT NULL;
CREATE INDEX credit_grants_user_idx ON analytics.credit_grants (user_id, priority, expires_at) WHERE user_id IS NOT NULL;
COMMENT ON TABLE analytics.credit_grants IS
  'Prepaid credits of an organization or a user (exactly one of org_id, user_id): amount in currency, consumed by invoices of that currency before they are charged, lowest priority number first, then earliest expiry; the balance is amount minus credit_consumptions';
COMMENT ON COLUMN analytics.credit_grants.priority IS
  '0 to 100: grants with a lower number are consumed first (then the one expiring first)';
COMMENT ON COLUMN analytics.credit_grants.effective_at IS
  'The grant covers invoices of billing periods ending after this instant';
COMMENT ON COLUMN analytics.credit_grants.expires_at IS
  'The grant covers no billing period ending after this instant (NULL: never expires)';
COMMENT ON COLUMN analytics.credit_grants.applies_to IS
  'usage: only usage and adjustment lines (overage); all: the base fee too';
COMMENT ON COLUMN analytics.credit_grants.voided_at IS
  'Voided grants are consumed no more';
ALTER TABLE analytics.credit_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY credit_grants_read ON analytics.credit_grants FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.credit_grants', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.credit_grants_grant_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.credit_grants', 'SELECT')
  ON CONFLICT DO NOTHING;

/* ------------------------------------------------------------------------
 * Invoices: one per subscription and closed billing period (local days of
 * the subject's time zone), made by generate_invoices as drafts; a number
 * INV-YYYY-NNNNNN is assigned at finalization from invoice_number_counters
 * (gapless: the counter row is locked until the finalizing transaction
 * ends, a rollback takes the number back).  A finalized invoice never
 * changes: later corrections are adjustment lines of a later invoice.
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.invoices (
  invoice_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id          text REFERENCES analytics.organizations (org_id),
  user_id         text CHECK (user_id <> ''),
  subscription_id bigint NOT NULL REFERENCES analytics.subscriptions (subscription_id),
  plan_id         text NOT NULL REFERENCES analytics.plans (plan_id),
  status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'finalized', 'paid', 'void')),
  invoice_number  text UNIQUE,
  number_year     integer,
  number_seq      bigint,
  currency        text NOT NULL REFERENCES analytics.currencies (currency),
  time_zone       text NOT NULL,
  period_start    date NOT NULL,
  period_end      date NOT NULL,
  period_start_at timestamptz NOT NULL,
  period_end_at   timestamptz NOT NULL,
  subtotal        numeric NOT NULL DEFAULT 0,
  tax_rate        numeric NOT NULL DEFAULT 0 CHECK (tax_rate >= 0 AND tax_rate < 1),
  tax             numeric NOT NULL DEFAULT 0,
  total           numeric NOT NULL DEFAULT 0,
  credits_applied numeric NOT NULL DEFAULT 0 CHECK (credits_applied >= 0),
  due_date        date NOT NULL,
  generated_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  as_of           timestamptz NOT NULL,
  finalized_at    timestamptz,
  paid_at         timestamptz,
  voided_at       timestamptz,
  void_reason     text,
  payment_reference text,
  metadata        jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
  line_count      integer CHECK (line_count >= 0),
  CONSTRAINT invoices_subject_check CHECK ((user_id IS NULL) <> (org_id IS NULL)),
  CONSTRAINT invoices_period_check CHECK (period_end > period_start AND period_end_at > period_start_at),
  CONSTRAINT invoices_number_check CHECK ((invoice_number IS NULL) = (number_seq IS NULL)
      AND (number_year IS NULL) = (number_seq IS NULL)
      AND CASE status WHEN 'draft' THEN invoice_number IS NULL
                      WHEN 'void' THEN true
                      ELSE invoice_number IS NOT NULL END),
  CONSTRAINT invoices_period_once UNIQUE (subscription_id, period_start),
  CONSTRAINT invoices_number_year_seq UNIQUE (number_year, number_seq)
);
CREATE INDEX invoices_org_idx ON analytics.invoices (org_id, period_start) WHERE org_id IS NOT NULL;
CREATE INDEX invoices_user_idx ON analytics.invoices (user_id, period_start) WHERE user_id IS NOT NULL;
CREATE INDEX invoices_open_idx ON analytics.invoices (due_date) WHERE status = 'finalized';
COMMENT ON TABLE analytics.invoices IS
  'Invoices: one per subscription and closed billing period [period_start, period_end) of local days in time_zone; draft (made by generate_invoices) -> finalized (numbered, immutable) -> paid or void; amounts in currency, each line rounded half-up to its minor unit';
COMMENT ON COLUMN analytics.invoices.invoice_number IS
  'INV-<number_year>-<number_seq, 6 digits or more>, gapless per year, assigned by finalize_invoice (NULL while draft)';
COMMENT ON COLUMN analytics.invoices.period_start IS
  'First local day of the billing period (time_zone); usage of API meters is read over the UTC days of the same dates';
COMMENT ON COLUMN analytics.invoices.period_end IS
  'The local day after the period (exclusive)';
COMMENT ON COLUMN analytics.invoices.subtotal IS
  'Sum of the lines'' amounts (credits and negative adjustments included)';
COMMENT ON COLUMN analytics.invoices.tax_rate IS
  'The organization''s tax_rate when the invoice was made (0 for a user)';
COMMENT ON COLUMN analytics.invoices.tax IS
  'round(subtotal * tax_rate) to the currency''s minor unit, half-up';
COMMENT ON COLUMN analytics.invoices.total IS
  'subtotal + tax: what the subject owes (negative: what it is owed)';
COMMENT ON COLUMN analytics.invoices.credits_applied IS
  'Prepaid credits consumed by this invoice (its credit lines, as a positive amount)';
COMMENT ON COLUMN analytics.invoices.line_count IS
  'Lines of the invoice when it was finalized (NULL while draft): lines 1 to line_count exist, no other may be added (a restore may insert those)';
COMMENT ON COLUMN analytics.invoices.as_of IS
  'The as_of of the generate_invoices call that made the invoice';
ALTER TABLE analytics.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_read ON analytics.invoices FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.invoices', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.invoices_invoice_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.invoices', 'SELECT')
  ON CONFLICT DO NOTHING;

CREATE TABLE analytics.invoice_lines (
  invoice_id         bigint NOT NULL REFERENCES analytics.invoices (invoice_id),
  line_no            integer NOT NULL CHECK (line_no > 0),
  org_id             text,
  user_id            text,
  kind               text NOT NULL CHECK (kind IN ('base', 'usage', 'tier', 'credit', 'adjustment')),
  meter_id           text REFERENCES analytics.meters (meter_id),
  description        text NOT NULL,
  quantity           numeric NOT NULL DEFAULT 0,
  included_quantity  numeric,
  overage_quantity   numeric,
  blocks             numeric,
  unit_price         numeric,
  proration          numeric CHECK (proration > 0 AND proration <= 1),
  amount             numeric NOT NULL,
  period_start       date,
  period_end         date,
  adjusts_invoice_id bigint REFERENCES analytics.invoices (invoice_id),
  credit_grant_id    bigint REFERENCES analytics.credit_grants (grant_id),
  pricing            jsonb,
  PRIMARY KEY (invoice_id, line_no)
);
CREATE INDEX invoice_lines_adjusts_idx ON analytics.invoice_lines (adjusts_invoice_id)
  WHERE adjusts_invoice_id IS NOT NULL;
COMMENT ON TABLE analytics.invoice_lines IS
  'Lines of an invoice: base (the period''s base fee, prorated), usage (a meter''s quantity, included and overage units, blocks x unit_price), tier (one graduated tier of a meter), credit (prepaid credit consumed, negative), adjustment (a change of an earlier invoice''s usage, priced as that invoice priced it); amount rounded half-up to the currency''s minor unit';
COMMENT ON COLUMN analytics.invoice_lines.quantity IS
  'base: days billed; usage and tier: the meter''s quantity in the period; adjustment: the change of the quantity; credit: 1';
COMMENT ON COLUMN analytics.invoice_lines.unit_price IS
  'Price of one block (usage, tier, adjustment) or of the whole period (base)';
COMMENT ON COLUMN analytics.invoice_lines.proration IS
  'base: the share of the period billed (days billed / days of the period, to 6 decimals; the amount is computed from the days)';
COMMENT ON COLUMN analytics.invoice_lines.period_start IS
  'The billing period the line measures (an adjustment: the earlier invoice''s period)';
COMMENT ON COLUMN analytics.invoice_lines.pricing IS
  'The charge the line was priced with (included_units, block_size, block_price, block_rounding, tiers): adjustments reprice with it';
ALTER TABLE analytics.invoice_lines ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoice_lines_read ON analytics.invoice_lines FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.invoice_lines', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.invoice_lines', 'SELECT')
  ON CONFLICT DO NOTHING;

-- The last invoice number of each year: finalize_invoice increments the
-- year's row and keeps it locked until its transaction ends.
CREATE TABLE analytics.invoice_number_counters (
  year        integer PRIMARY KEY CHECK (year BETWEEN 1 AND 9999),
  last_number bigint NOT NULL DEFAULT 0 CHECK (last_number >= 0)
);
COMMENT ON TABLE analytics.invoice_number_counters IS
  'Last invoice number assigned per year (INV-<year>-<number>); incremented under its row lock in the finalizing transaction, so numbers have no gaps even when that transaction rolls back';
-- Internal: RLS on and no policy at all.
ALTER TABLE analytics.invoice_number_counters ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('analytics.invoice_number_counters', '');

CREATE TABLE analytics.credit_consumptions (
  consumption_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  grant_id       bigint NOT NULL REFERENCES analytics.credit_grants (grant_id),
  invoice_id     bigint NOT NULL REFERENCES analytics.invoices (invoice_id),
  org_id         text,
  user_id        text,
  amount         numeric NOT NULL CHECK (amount <> 0),
  consumed_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX credit_consumptions_grant_idx ON analytics.credit_consumptions (grant_id);
CREATE INDEX credit_consumptions_invoice_idx ON analytics.credit_consumptions (invoice_id);
COMMENT ON TABLE analytics.credit_consumptions IS
  'Credit consumed from a grant by an invoice (positive), or given back when the invoice is voided (negative): a grant''s balance is its amount minus the sum of its rows';
ALTER TABLE analytics.credit_consumptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY credit_consumptions_read ON analytics.credit_consumptions FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.credit_consumptions', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.credit_consumptions_consumption_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.credit_consumptions', 'SELECT')
  ON CONFLICT DO NOTHING;

/* ------------------------------------------------------------------------
 * Immutability: past draft, an invoice changes only finalized -> paid or
 * void, and its lines never.
 * ------------------------------------------------------------------------ */

\ir functions/guard_invoice.sql
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON analytics.invoices
  FOR EACH ROW EXECUTE FUNCTION analytics.guard_invoice();
CREATE TRIGGER invoice_lines_immutable BEFORE INSERT OR UPDATE OR DELETE ON analytics.invoice_lines
  FOR EACH ROW EXECUTE FUNCTION analytics.guard_invoice();

/* ------------------------------------------------------------------------
 * Billing periods and meter quantities (from the counters and rollups)
 * ------------------------------------------------------------------------ */

\ir functions/subscription_periods.sql

\ir functions/billing_period.sql

\ir functions/subject_usage.sql

\ir functions/plan_pricing.sql

\ir functions/meter_quantity.sql

\ir functions/plan_meter_quantities.sql

\ir functions/price_usage.sql

/* ------------------------------------------------------------------------
 * Invoices: generation, finalization, payment, voiding, verification;
 * cancellation of subscriptions
 * ------------------------------------------------------------------------ */

\ir functions/invoice_period.sql

\ir functions/generate_invoices.sql

\ir functions/finalize_invoice.sql

\ir functions/mark_invoice_paid.sql

\ir functions/void_invoice.sql

\ir functions/cancel_subscription.sql

\ir functions/subject_usage_of_log.sql

\ir functions/verify_invoices.sql
