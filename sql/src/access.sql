/*-------------------------------------------------------------------------
 * access.sql
 *    The schema, who may do what, and who the caller is.  access_list holds
 *    the privileges of each kind of role; every file beside a table or in a
 *    function's file adds the rows for its objects, and the grant helpers
 *    (grant_app_backend, grant_end_user, grant_admin) apply them.
 *-------------------------------------------------------------------------
 */

-- Fails if the schema exists: we never adopt objects somebody else created.
CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS
  'usage_analytics: LLM request log, exact usage counters, plans, quotas and analytics';
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;

/* ------------------------------------------------------------------------
 * Access: one list of privileges per kind of role, applied by the helpers.
 * ------------------------------------------------------------------------ */

-- The privileges of each kind of role ('*': every kind).  Each object's
-- source adds its rows (ON CONFLICT DO NOTHING, so an upgrade that
-- replaces a function may include its file again); the grant helpers read
-- them.
CREATE TABLE analytics.access_list (
  kind          text NOT NULL CHECK (kind IN ('*', 'app_backend', 'end_user', 'admin')),
  object_type   text NOT NULL CHECK (object_type IN ('SCHEMA', 'TABLE', 'FUNCTION', 'PARAMETER')),
  object_name   text NOT NULL,
  privilege     text NOT NULL,
  unscoped_only boolean NOT NULL DEFAULT false,
  PRIMARY KEY (kind, object_type, object_name)
);
COMMENT ON COLUMN analytics.access_list.unscoped_only IS
  'Not granted to organization-scoped admins: the object shows every user''s rows without row-level security (materialized views), or changes what every tenant shares (plans, prices, jobs, other tenants'' rows)';
COMMENT ON TABLE analytics.access_list IS
  'The privileges each kind of role receives from the grant helpers (part of the extension, not dumped)';
-- Internal: RLS on and no policy at all.
ALTER TABLE analytics.access_list ENABLE ROW LEVEL SECURITY;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'SCHEMA', 'analytics', 'USAGE'),
  ('app_backend', 'PARAMETER', 'usage_analytics.user_id', 'SET')
  ON CONFLICT DO NOTHING;

/* ------------------------------------------------------------------------
 * Identity and role bindings
 * ------------------------------------------------------------------------ */

\ir functions/current_user_id.sql

CREATE TABLE analytics.role_bindings (
  role_name  name NOT NULL,
  kind       text NOT NULL
             CHECK (kind IN ('app_backend', 'end_user', 'admin')),
  org_id     text,
  granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (role_name, kind)
);
COMMENT ON TABLE analytics.role_bindings IS
  'Database roles bound to a kind of access by analytics.grant_app_backend/grant_end_user/grant_admin; admin rows with org_id see that organization only';
-- Internal: RLS on and no policy at all.
ALTER TABLE analytics.role_bindings ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('analytics.role_bindings', '');

-- The key that signs the identity act_as sends to the workers of a Citus
-- cluster (README "Scaling out with Citus"): one row, the same on every
-- node, written by analytics.distribute(); empty on a single node.  Read by
-- the extension's owner only (RLS on, no policy, no privilege).
CREATE TABLE analytics.identity_keys (
  singleton  boolean NOT NULL DEFAULT true PRIMARY KEY CHECK (singleton),
  key        bytea NOT NULL CHECK (pg_catalog.length(key) >= 16),
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE analytics.identity_keys IS
  'The key of the HMAC that signs the identity act_as sends to Citus workers (usage_analytics.identity_token); written by analytics.distribute() on every node';
ALTER TABLE analytics.identity_keys ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE analytics.identity_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('analytics.identity_keys', '');

\ir functions/role_kinds.sql

\ir functions/sees_all_rows.sql

\ir functions/admin_org_ids.sql

/*
 * Settings read from SQL.  current_setting('usage_analytics.x') fails as
 * the first call of a session, before anything loaded the C library that
 * defines the settings; pg_cron runs every job in a new session.  This C
 * function loads it by being called.
 */
\ir functions/setting.sql

/* ------------------------------------------------------------------------
 * The grant helpers
 * ------------------------------------------------------------------------ */

\ir functions/access_privileges.sql

\ir functions/apply_privileges.sql

\ir functions/role_binding_grant.sql
CREATE TRIGGER role_binding_grant BEFORE INSERT ON analytics.role_bindings
  FOR EACH ROW EXECUTE FUNCTION analytics.role_binding_grant();

\ir functions/apply_access.sql

\ir functions/grant_app_backend.sql

\ir functions/grant_end_user.sql

\ir functions/grant_admin.sql

\ir functions/revoke_access.sql

/*
 * Identity through drivers and pools.  SET takes no bind parameters and a
 * session-level SET outlives the transaction (a pooled connection would
 * hand it to the next client).  act_as sets the identity and the end-user
 * role for the current transaction only, from values; grant_act_as gives
 * the app backend the membership SET ROLE needs.
 */
\ir functions/is_end_user_role.sql

\ir functions/act_as.sql

\ir functions/grant_act_as.sql
