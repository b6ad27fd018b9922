/*-------------------------------------------------------------------------
 * plans.sql
 *    Plans and their limits, subscriptions (which plan binds a user when,
 *    in which time zone), and the subject of a request at an instant.
 *-------------------------------------------------------------------------
 */

/* ------------------------------------------------------------------------
 * Plans and subscriptions
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.plans (
  plan_id                text PRIMARY KEY CHECK (plan_id <> ''),
  name                   text NOT NULL,
  daily_request_limit    bigint CHECK (daily_request_limit >= 0),
  monthly_request_limit  bigint CHECK (monthly_request_limit >= 0),
  monthly_token_limit    bigint CHECK (monthly_token_limit >= 0),
  monthly_cost_limit     numeric CHECK (monthly_cost_limit >= 0 AND monthly_cost_limit < 'Infinity'),
  max_tokens_per_request bigint CHECK (max_tokens_per_request >= 0),
  enforcement            text NOT NULL DEFAULT 'hard' CHECK (enforcement IN ('hard', 'soft')),
  warn_thresholds        numeric[] NOT NULL DEFAULT '{0.8,1.0}'
                         CHECK (pg_catalog.cardinality(warn_thresholds) BETWEEN 1 AND 10
                                AND 0 < ALL (warn_thresholds) AND 10 >= ALL (warn_thresholds)),
  features               jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(features) = 'object'),
  price_per_month        numeric NOT NULL DEFAULT 0 CHECK (price_per_month >= 0 AND price_per_month < 'Infinity'),
  billing_cycle          text NOT NULL DEFAULT 'monthly' CHECK (billing_cycle IN ('monthly', 'yearly')),
  included_units         bigint CHECK (included_units >= 0),
  overage_unit_price     numeric CHECK (overage_unit_price >= 0 AND overage_unit_price < 'Infinity'),
  builtin                boolean NOT NULL DEFAULT false,
  currency               text NOT NULL DEFAULT 'USD',
  price_per_year         numeric CHECK (price_per_year >= 0 AND price_per_year < 'Infinity'),
  trial_days             integer NOT NULL DEFAULT 0 CHECK (trial_days BETWEEN 0 AND 730),
  payment_terms_days     integer NOT NULL DEFAULT 14 CHECK (payment_terms_days BETWEEN 0 AND 365)
);
COMMENT ON TABLE analytics.plans IS
  'Plans with limits (NULL = no limit of that kind), enforcement, warning thresholds, features and pricing';
COMMENT ON COLUMN analytics.plans.price_per_month IS
  'Base fee of a monthly billing period (billing_cycle monthly), in currency';
COMMENT ON COLUMN analytics.plans.billing_cycle IS
  'Length of a billing period: monthly or yearly, anchored on the subscription''s billing anchor (README "Billing")';
COMMENT ON COLUMN analytics.plans.included_units IS
  'Shorthand for a charge on the meter requests (block size 1): units included per billing period; used when the plan has no plan_charges row for requests';
COMMENT ON COLUMN analytics.plans.overage_unit_price IS
  'Shorthand for a charge on the meter requests (block size 1): price of each request beyond included_units; used when the plan has no plan_charges row for requests';
COMMENT ON COLUMN analytics.plans.currency IS
  'ISO 4217 code (analytics.currencies) of every price of the plan and of its invoices';
COMMENT ON COLUMN analytics.plans.price_per_year IS
  'Base fee of a yearly billing period (billing_cycle yearly); NULL: 12 * price_per_month';
COMMENT ON COLUMN analytics.plans.trial_days IS
  'Days of trial a new subscription gets (its trial_ends_at, status trialing): no base fee and no usage billed before the trial ends';
COMMENT ON COLUMN analytics.plans.payment_terms_days IS
  'An invoice is due this many days after the end of its period';
SELECT pg_catalog.pg_extension_config_dump('analytics.plans', 'WHERE NOT builtin');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.plans', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.plans', 'INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

CREATE TABLE analytics.subscriptions (
  subscription_id bigint GENERATED ALWAYS AS IDENTITY,
  user_id         text CHECK (user_id <> ''),
  plan_id         text NOT NULL REFERENCES analytics.plans (plan_id),
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz,
  time_zone       text NOT NULL DEFAULT 'UTC',
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  org_id          text REFERENCES analytics.organizations (org_id),
  status          text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('trialing', 'active', 'past_due', 'cancelled', 'unpaid')),
  cancel_at_period_end boolean NOT NULL DEFAULT false,
  cancelled_at    timestamptz,
  billing_anchor  timestamptz,
  trial_ends_at   timestamptz,
  PRIMARY KEY (subscription_id),
  CHECK (ends_at IS NULL OR ends_at > starts_at),
  CONSTRAINT subscriptions_subject_check CHECK ((user_id IS NULL) <> (org_id IS NULL)),
  CONSTRAINT subscriptions_trial_check CHECK (trial_ends_at IS NULL OR trial_ends_at > starts_at)
);
CREATE INDEX subscriptions_lookup_idx
  ON analytics.subscriptions (user_id, starts_at DESC);
CREATE INDEX subscriptions_org_lookup_idx
  ON analytics.subscriptions (org_id, starts_at DESC) WHERE org_id IS NOT NULL;
COMMENT ON TABLE analytics.subscriptions IS
  'Binds a user or an organization (exactly one of user_id, org_id) to a plan for [starts_at, ends_at); a user''s time_zone decides the user''s day and month buckets, an organization''s buckets follow analytics.organizations.time_zone';
COMMENT ON COLUMN analytics.subscriptions.org_id IS
  'The organization subscribed (user_id NULL): requests with this org_id count against the plan, pooled over its members';
COMMENT ON COLUMN analytics.subscriptions.status IS
  'Billing status: trialing, active, past_due (a finalized invoice is overdue), cancelled, unpaid (set by the operator); admission does not read it';
COMMENT ON COLUMN analytics.subscriptions.cancel_at_period_end IS
  'The subscription ends at the end of its current billing period (ends_at is set to it)';
COMMENT ON COLUMN analytics.subscriptions.cancelled_at IS
  'When the cancellation was asked for';
COMMENT ON COLUMN analytics.subscriptions.billing_anchor IS
  'Billing periods start on this instant''s local day and its monthly or yearly anniversaries; NULL: trial_ends_at, else starts_at';
COMMENT ON COLUMN analytics.subscriptions.trial_ends_at IS
  'End of the trial (from plans.trial_days at subscription); nothing is billed for the local days before it';
ALTER TABLE analytics.subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY subscriptions_read ON analytics.subscriptions FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.subscriptions_subscription_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.subscriptions', 'SELECT')
  ON CONFLICT DO NOTHING;

\ir functions/subject_at.sql

\ir functions/org_subject_at.sql

\ir functions/subscribe.sql

-- The shipped plans (builtin rows are not dumped; edit or add your own).
INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_request_limit,
    monthly_token_limit, monthly_cost_limit, max_tokens_per_request, enforcement,
    features, price_per_month, included_units, overage_unit_price, builtin) VALUES
  ('free', 'Free', 50, 1000, 1000000, 5, 16000, 'hard',
   '{"models": ["gpt-4o-mini", "gemini-2.0-flash"]}', 0, NULL, NULL, true),
  ('pro', 'Pro', 1000, 20000, 50000000, 200, 128000, 'hard',
   '{"models": "all", "priority": true}', 20, 20000, 0.002, true),
  ('enterprise', 'Enterprise', NULL, NULL, NULL, NULL, NULL, 'soft',
   '{"models": "all", "priority": true, "sso": true}', 500, 1000000, 0.001, true);
