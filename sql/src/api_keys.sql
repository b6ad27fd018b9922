/*-------------------------------------------------------------------------
 * api_keys.sql
 *    API keys of organizations and their rate limits (README "API keys").
 *    A key is shown once, at creation or rotation: only its visible prefix
 *    and its SHA-256 are stored, and nobody but a superuser reads the hash
 *    (column privileges: the hash is granted to no kind of role).  The
 *    gateway's one call per request, authorize_api_request (src/api_keys.c),
 *    authenticates the key and charges its per-minute and per-hour limits,
 *    exactly, in fixed UTC windows counted in backend slots (no hot row).
 *    Every table carries org_id first in its primary key (README "Tenancy
 *    model"); the prefix is unique across organizations, as a gateway looks
 *    a key up without knowing its organization.
 *-------------------------------------------------------------------------
 */


CREATE TABLE analytics.api_keys (
  org_id                text NOT NULL REFERENCES analytics.organizations (org_id),
  key_id                bigint GENERATED ALWAYS AS IDENTITY,
  key_prefix            text NOT NULL UNIQUE CHECK (key_prefix ~ '^ua_(live|test)_[0-9A-Za-z]{8}$'),
  key_hash              bytea NOT NULL CHECK (pg_catalog.octet_length(key_hash) = 32),
  name                  text NOT NULL CHECK (name <> '' AND pg_catalog.octet_length(name) <= 128),
  environment           text NOT NULL CHECK (environment IN ('live', 'test')),
  scopes                text[] NOT NULL DEFAULT '{}',
  allowed_origins       text[],
  ip_allowlist          cidr[],
  rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0),
  rate_limit_per_hour   integer CHECK (rate_limit_per_hour > 0),
  expires_at            timestamptz,
  revoked_at            timestamptz,
  created_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by            text,
  last_used_at          timestamptz,
  replaced_by           bigint,
  PRIMARY KEY (org_id, key_id)
);
COMMENT ON TABLE analytics.api_keys IS
  'API keys of organizations: the visible prefix and the SHA-256 of the key (never the key), scopes, allowed origins and IP ranges, rate limits, expiry, revocation and rotation';
COMMENT ON COLUMN analytics.api_keys.key_prefix IS
  'The first 16 characters of the key (ua_live_ or ua_test_ and 8 random characters), shown to identify it; unique';
COMMENT ON COLUMN analytics.api_keys.key_hash IS
  'SHA-256 of the whole key; readable by superusers only';
COMMENT ON COLUMN analytics.api_keys.scopes IS
  'Scopes the key grants; ''*'' grants every scope';
COMMENT ON COLUMN analytics.api_keys.allowed_origins IS
  'Origins (compared case-insensitively) a request may come from; ''*'' any; NULL or empty: no restriction';
COMMENT ON COLUMN analytics.api_keys.ip_allowlist IS
  'CIDR ranges a request''s IP must fall in; NULL or empty: no restriction';
COMMENT ON COLUMN analytics.api_keys.revoked_at IS
  'From this time the key is refused as revoked; a rotated key gets the end of its grace period';
COMMENT ON COLUMN analytics.api_keys.last_used_at IS
  'Last successful authentication, to the minute: written only when older than a minute, never waiting for a lock';
COMMENT ON COLUMN analytics.api_keys.replaced_by IS
  'The key that rotate_api_key made to replace this one';
ALTER TABLE analytics.api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_keys_read ON analytics.api_keys FOR SELECT
  USING ((SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.api_keys', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.api_keys_key_id_seq', '');
REVOKE ALL ON TABLE analytics.api_keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE analytics.api_keys_key_id_seq FROM PUBLIC;
-- Every column but key_hash: the metadata.
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.api_keys',
   'SELECT (org_id, key_id, key_prefix, name, environment, scopes, allowed_origins, ip_allowlist, '
   'rate_limit_per_minute, rate_limit_per_hour, expires_at, revoked_at, created_at, created_by, '
   'last_used_at, replaced_by)')
  ON CONFLICT DO NOTHING;

/*
 * Requests admitted per key, UTC hour and backend slot: requests in the
 * hour, and minute_requests in the slot's latest minute (minute_start).
 * A charge holds the key's admission lock only while it counts (every
 * slot, including uncommitted charges) and adds to its own slot: chargers
 * of one key never wait for each other's commit.  Readers sum the slots.
 * expire_reservations() deletes hours that ended more than a day ago.
 */
CREATE TABLE analytics.api_key_counters (
  org_id          text NOT NULL,
  key_id          bigint NOT NULL,
  hour_start      timestamptz NOT NULL,
  slot            smallint NOT NULL,
  requests        bigint NOT NULL,
  minute_start    timestamptz NOT NULL,
  minute_requests bigint NOT NULL,
  PRIMARY KEY (org_id, key_id, hour_start, slot)
) WITH (fillfactor = 50);
COMMENT ON TABLE analytics.api_key_counters IS
  'Requests authorize_api_request admitted per API key, UTC hour and backend slot (minute_requests: in the slot''s minute_start); sum the slots';
ALTER TABLE analytics.api_key_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_key_counters_read ON analytics.api_key_counters FOR SELECT
  USING ((SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.api_key_counters', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.api_key_counters', 'SELECT')
  ON CONFLICT DO NOTHING;

/*
 * Refused calls: authorize_api_request answers rate_limited and counts the
 * refusal here, per key, limit, window and backend slot (sum the slots).
 * expire_reservations() deletes windows older than 31 days.
 */
CREATE TABLE analytics.api_key_rate_limited (
  org_id       text NOT NULL,
  key_id       bigint NOT NULL,
  limit_name   text NOT NULL CHECK (limit_name IN ('rate_limit_per_minute', 'rate_limit_per_hour')),
  period_start timestamptz NOT NULL,
  slot         smallint NOT NULL,
  refused      bigint NOT NULL,
  PRIMARY KEY (org_id, key_id, limit_name, period_start, slot)
);
COMMENT ON TABLE analytics.api_key_rate_limited IS
  'Calls refused as rate_limited per API key, limit and window (period_start: the UTC minute or hour) and backend slot; sum the slots';
ALTER TABLE analytics.api_key_rate_limited ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_key_rate_limited_read ON analytics.api_key_rate_limited FOR SELECT
  USING ((SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.api_key_rate_limited', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.api_key_rate_limited', 'SELECT')
  ON CONFLICT DO NOTHING;

\ir functions/api_key_generate.sql

\ir functions/create_api_key.sql

\ir functions/revoke_api_key.sql

\ir functions/rotate_api_key.sql

\ir functions/authenticate_api_key.sql

\ir functions/authorize_api_request.sql
