/*-------------------------------------------------------------------------
 * organizations.sql
 *    Organizations (the tenants of a B2B deployment) and their members.
 *    A request with an org_id counts against the organization's plan,
 *    pooled over its members and keys, and against the member's own cap.
 *    Every table that grows with an organization carries org_id first in
 *    its primary key (README "Tenancy model").
 *-------------------------------------------------------------------------
 */

CREATE TABLE analytics.organizations (
  org_id        text PRIMARY KEY CHECK (org_id <> ''),
  name          text NOT NULL CHECK (name <> ''),
  slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  time_zone     text NOT NULL DEFAULT 'UTC',
  currency      text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
  tax_rate      numeric NOT NULL DEFAULT 0 CHECK (tax_rate >= 0 AND tax_rate < 1),
  billing_email text CHECK (billing_email ~ '^[^@\s]+@[^@\s]+$'),
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  metadata      jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  suspended_at  timestamptz,
  CHECK ((status = 'suspended') = (suspended_at IS NOT NULL))
);
COMMENT ON TABLE analytics.organizations IS
  'Organizations: the tenants of a B2B deployment, with their time zone (day and month buckets), currency, tax rate and status';
COMMENT ON COLUMN analytics.organizations.tax_rate IS
  'Fraction of the subtotal (0.2 = 20 %) added as tax to the organization''s invoices';
SELECT pg_catalog.pg_extension_config_dump('analytics.organizations', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.organizations', 'SELECT')
  ON CONFLICT DO NOTHING;

CREATE TABLE analytics.org_members (
  org_id              text NOT NULL REFERENCES analytics.organizations (org_id),
  user_id             text NOT NULL CHECK (user_id <> ''),
  role                text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  monthly_request_cap bigint CHECK (monthly_request_cap >= 0),
  monthly_token_cap   bigint CHECK (monthly_token_cap >= 0),
  monthly_cost_cap    numeric CHECK (monthly_cost_cap >= 0 AND monthly_cost_cap < 'Infinity'),
  added_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user_idx ON analytics.org_members (user_id);
COMMENT ON TABLE analytics.org_members IS
  'Members of an organization with their role and optional monthly caps inside the organization''s plan (NULL: no cap of that kind)';
SELECT pg_catalog.pg_extension_config_dump('analytics.org_members', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.org_members', 'SELECT')
  ON CONFLICT DO NOTHING;

/* ------------------------------------------------------------------------
 * Who reads what (SPEC section 9): database roles bound with
 * grant_admin(role, org_id) and, by the identity
 * (analytics.current_user_id()), the organization's owners and admins read
 * the organization and all its members; every member reads the
 * organization and its own membership.  identity_org_ids() reads
 * org_members as its owner, so no policy reads org_members through its
 * own policy.
 * ------------------------------------------------------------------------ */

\ir functions/identity_org_ids.sql

ALTER TABLE analytics.organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organizations_read ON analytics.organizations FOR SELECT
  USING ((SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}')));

ALTER TABLE analytics.org_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY org_members_read ON analytics.org_members FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));

/* ------------------------------------------------------------------------
 * Managing organizations and members (app backends and unscoped admins)
 * ------------------------------------------------------------------------ */

\ir functions/check_org_fields.sql

\ir functions/create_organization.sql

\ir functions/update_organization.sql

\ir functions/suspend_organization.sql

\ir functions/reactivate_organization.sql

\ir functions/check_member_fields.sql

\ir functions/add_member.sql

\ir functions/update_member.sql

\ir functions/remove_member.sql
