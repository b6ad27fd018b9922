\set ECHO none
\i test/setup.psql
SELECT plan(87);

-- API keys (sql/src/api_keys.sql, src/api_keys.c): the key shown once,
-- only prefix and SHA-256 stored; authenticate_api_key's answers and the
-- SQLSTATE of each refusal; revoke, rotate, expiry; last_used_at without
-- a write per request; authorize_api_request's rate limits in fixed UTC
-- windows (one transaction here: every call is in the window of now());
-- notifications; who reads what.

INSERT INTO analytics.organizations (org_id, name, slug) VALUES
  ('acme', 'Acme', 'acme'), ('globex', 'Globex', 'globex'), ('initech', 'Initech', 'initech');

SELECT * FROM analytics.create_api_key('acme', 'server', '{read,write}') \gset k1_
SELECT * FROM analytics.create_api_key('acme', 'ci', environment => 'test') \gset k2_
SELECT * FROM analytics.create_api_key('globex', 'web', '{*}', allowed_origins => '{https://app.globex.com}',
                                        ip_allowlist => '{10.0.0.0/8,192.168.1.5/32}') \gset k3_

-- ---------------------------------------------------------------------
-- The key, shown once; prefix and hash stored
-- ---------------------------------------------------------------------
SELECT matches(:'k1_api_key'::text, '^ua_live_[0-9A-Za-z]{40}$', 'a live key: ua_live_ and 40 base62 characters');
SELECT matches(:'k2_api_key'::text, '^ua_test_[0-9A-Za-z]{40}$', 'a test key: ua_test_ and 40 base62 characters');
SELECT is(:'k1_key_prefix', left(:'k1_api_key', 16), 'the prefix returned is the key''s first 16 characters');
SELECT results_eq(format($$SELECT key_prefix, key_hash FROM analytics.api_keys WHERE key_id = %s$$, :k1_key_id),
  format($$VALUES (%L, sha256(convert_to(%L, 'UTF8')))$$, :'k1_key_prefix', :'k1_api_key'),
  'stored: the prefix and the SHA-256 of the key');
SELECT is_empty(format($$SELECT 1 FROM analytics.api_keys k WHERE strpos(k::text, %L) > 0$$, substr(:'k1_api_key', 17)),
  'the secret part of the key is stored nowhere in the row');
SELECT is((SELECT count(DISTINCT analytics.api_key_generate('live')) FROM generate_series(1, 200)), 200::bigint,
  '200 keys drawn: all different');
SELECT cmp_ok((SELECT count(DISTINCT c) FROM generate_series(1, 50) g,
                LATERAL (SELECT (analytics.api_key_generate('live')).api_key WHERE g > 0) k,
                regexp_split_to_table(substr(k.api_key, 9), '') c),
  '>=', 60::bigint, 'the random part uses the whole base62 alphabet');
SELECT results_eq($$SELECT org_id, name, environment, scopes, created_by = session_user FROM analytics.api_keys ORDER BY key_id$$,
  $$VALUES ('acme', 'server', 'live', '{read,write}'::text[], true), ('acme', 'ci', 'test', '{}', true),
           ('globex', 'web', 'live', '{*}', true)$$,
  'the metadata of the three keys');

-- ---------------------------------------------------------------------
-- Creation refuses bad input
-- ---------------------------------------------------------------------
SELECT throws_ok($$SELECT analytics.create_api_key('nope', 'x')$$, '42704', NULL, 'unknown organization: 42704');
SELECT throws_ok($$SELECT analytics.create_api_key(NULL, 'x')$$, '23502', NULL, 'no organization: 23502');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', NULL)$$, '23502', NULL, 'no name: 23502');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', '')$$, '22023', NULL, 'empty name: 22023');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', repeat('n', 129))$$, '22001', NULL, 'name over 128 bytes: 22001');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', 'x', environment => 'prod')$$, '22023', NULL, 'environment neither live nor test: 22023');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', 'x', environment => NULL)$$, '22023', NULL, 'NULL environment: 22023');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', 'x', '{read,""}')$$, '22023', NULL, 'an empty scope: 22023');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', 'x', allowed_origins => '{""}')$$, '22023', NULL, 'an empty origin: 22023');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', 'x', ip_allowlist => '{NULL}')$$, '22023', NULL, 'a NULL IP range: 22023');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', 'x', rate_limit_per_minute => 0)$$, '22023', NULL, 'a zero rate limit: 22023');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', 'x', rate_limit_per_hour => -1)$$, '22023', NULL, 'a negative rate limit: 22023');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', 'x', expires_at => now())$$, '22023', NULL, 'expires_at not in the future: 22023');
SELECT throws_ok($$SELECT analytics.create_api_key('acme', 'x', ip_allowlist => '{10.0.0.1/8}')$$, '22P02', NULL, 'a malformed CIDR: 22P02');

-- ---------------------------------------------------------------------
-- Authentication and its refusals
-- ---------------------------------------------------------------------
SELECT results_eq(format($$SELECT * FROM analytics.authenticate_api_key(%L)$$, :'k1_api_key'),
  format($$VALUES (%s::bigint, 'acme', 'live', '{read,write}'::text[])$$, :k1_key_id),
  'a valid key: its id, organization, environment and scopes');
SELECT results_eq(format($$SELECT key_id, org_id, environment FROM analytics.authenticate_api_key(%L, 'https://x', '1.2.3.4', NULL)$$, :'k2_api_key'),
  format($$VALUES (%s::bigint, 'acme', 'test')$$, :k2_key_id),
  'no origin or IP restriction, no scope asked: any origin and IP');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, 'ua_live_' || repeat('A', 40)), '28000', 'invalid api key',
  'an unknown well-formed key: 28000');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, :'k3_key_prefix' || repeat('A', 32)), '28000', 'invalid api key',
  'another organization''s prefix with a wrong secret: the same 28000, same message');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, left(:'k1_api_key', 47)), '28000', 'invalid api key',
  'a truncated key: 28000');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, replace(:'k1_api_key', 'ua_live_', 'ua_test_')), '28000', 'invalid api key',
  'the key with the other environment''s head: 28000');
SELECT throws_ok($$SELECT analytics.authenticate_api_key('garbage')$$, '28000', 'invalid api key', 'a malformed key: 28000');
SELECT throws_ok($$SELECT analytics.authenticate_api_key(NULL)$$, '28000', 'invalid api key', 'NULL: 28000');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, upper(:'k1_api_key')), '28000', 'invalid api key',
  'keys are case-sensitive: 28000');

-- Origins (case-insensitive), IP ranges, scopes.
SELECT is((SELECT org_id FROM analytics.authenticate_api_key(:'k3_api_key', 'https://APP.globex.com', '10.20.30.40', 'anything')),
  'globex', 'allowed origin (any case), an IP in 10.0.0.0/8, any scope under *');
SELECT is((SELECT org_id FROM analytics.authenticate_api_key(:'k3_api_key', 'https://app.globex.com', '192.168.1.5')),
  'globex', 'an IP equal to a /32 entry');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L, 'https://evil.example', '10.0.0.1')$$, :'k3_api_key'), '42U01', NULL,
  'an origin outside the list: 42U01');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L, NULL, '10.0.0.1')$$, :'k3_api_key'), '42U01', NULL,
  'no origin when the key lists origins: 42U01');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L, 'https://app.globex.com', '192.168.1.6')$$, :'k3_api_key'), '42U02', NULL,
  'an IP outside every range: 42U02');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L, 'https://app.globex.com', '::ffff:10.0.0.1')$$, :'k3_api_key'), '42U02', NULL,
  'an IPv6 address against IPv4 ranges: 42U02');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L, 'https://app.globex.com', NULL)$$, :'k3_api_key'), '42U02', NULL,
  'no IP when the key has an allow-list: 42U02');
SELECT is((SELECT key_id FROM analytics.authenticate_api_key(:'k1_api_key', scope => 'write')), :k1_key_id::bigint,
  'a scope the key has');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L, scope => 'admin')$$, :'k1_api_key'), '42501', 'api key lacks scope "admin"',
  'a scope the key lacks: 42501');

-- Revoked, expired, organization suspended.
SELECT * FROM analytics.create_api_key('acme', 'to revoke') \gset r_
SELECT isnt(analytics.revoke_api_key('acme', :r_key_id), NULL, 'revoke_api_key returns the revocation time');
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, :'r_api_key'), '28U01', 'api key has been revoked',
  'a revoked key: 28U01');
UPDATE analytics.api_keys SET revoked_at = revoked_at - interval '1 hour' WHERE key_id = :r_key_id;
SELECT is(analytics.revoke_api_key('acme', :r_key_id), now() - interval '1 hour', 'revoking again keeps the first time');
SELECT throws_ok(format($$SELECT analytics.revoke_api_key('globex', %s)$$, :r_key_id), '42704', NULL,
  'revoking with another organization: 42704');
SELECT * FROM analytics.create_api_key('acme', 'to expire', expires_at => now() + interval '1 day') \gset e_
UPDATE analytics.api_keys SET expires_at = now() - interval '1 second' WHERE key_id = :e_key_id;
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, :'e_api_key'), '28U02', 'api key has expired',
  'an expired key: 28U02');
SELECT * FROM analytics.create_api_key('initech', 'x') \gset s_
UPDATE analytics.organizations SET status = 'suspended', suspended_at = now() WHERE org_id = 'initech';
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, :'s_api_key'), '28U03', NULL,
  'a key of a suspended organization: 28U03');
SELECT throws_ok($$SELECT analytics.create_api_key('initech', 'y')$$, '55000', NULL,
  'no new key for a suspended organization: 55000');

-- ---------------------------------------------------------------------
-- Rotation: the old key valid for the grace period, then revoked
-- ---------------------------------------------------------------------
SELECT * FROM analytics.rotate_api_key('acme', :k1_key_id) \gset rot_
SELECT matches(:'rot_api_key'::text, '^ua_live_[0-9A-Za-z]{40}$', 'rotation returns a new key');
SELECT is(:'rot_old_key_valid_until'::timestamptz, now() + interval '24 hours', 'the old key stays valid 24 hours by default');
SELECT results_eq(format($$SELECT name, scopes, environment, replaced_by FROM analytics.api_keys WHERE key_id IN (%s, %s) ORDER BY key_id$$,
                         :k1_key_id, :rot_new_key_id),
  format($$VALUES ('server', '{read,write}'::text[], 'live', %s::bigint), ('server', '{read,write}', 'live', NULL)$$, :rot_new_key_id),
  'the new key has the old one''s settings; the old one points to it');
SELECT is((SELECT key_id FROM analytics.authenticate_api_key(:'k1_api_key')), :k1_key_id::bigint, 'the old key works during the grace period');
SELECT is((SELECT key_id FROM analytics.authenticate_api_key(:'rot_api_key')), :rot_new_key_id::bigint, 'the new key works');
SELECT throws_ok(format($$SELECT analytics.rotate_api_key('acme', %s)$$, :k1_key_id), '55000', NULL, 'rotating a rotated key: 55000');
UPDATE analytics.api_keys SET revoked_at = now() - interval '1 second' WHERE key_id = :k1_key_id;
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, :'k1_api_key'), '28U01', NULL,
  'after the grace period the old key is refused as revoked: 28U01');
SELECT * FROM analytics.rotate_api_key('acme', :k2_key_id, interval '0') \gset rot0_
SELECT throws_ok(format($$SELECT analytics.authenticate_api_key(%L)$$, :'k2_api_key'), '28U01', NULL,
  'rotation with no grace period: the old key is refused at once');
SELECT throws_ok(format($$SELECT analytics.rotate_api_key('acme', %s, interval '-1 hour')$$, :rot_new_key_id), '22023', NULL,
  'a negative grace period: 22023');
SELECT throws_ok($$SELECT analytics.rotate_api_key('acme', -1)$$, '42704', NULL, 'rotating an unknown key: 42704');

-- ---------------------------------------------------------------------
-- last_used_at: written when older than a minute, not per request
-- ---------------------------------------------------------------------
UPDATE analytics.api_keys SET last_used_at = now() - interval '2 minutes' WHERE key_id = :rot_new_key_id;
SELECT ctid AS before_ctid FROM analytics.api_keys WHERE key_id = :rot_new_key_id \gset
SELECT key_id FROM analytics.authenticate_api_key(:'rot_api_key') \gset
SELECT is((SELECT last_used_at FROM analytics.api_keys WHERE key_id = :rot_new_key_id), now(),
  'an authentication a minute after the last one writes last_used_at');
SELECT ctid AS touched_ctid FROM analytics.api_keys WHERE key_id = :rot_new_key_id \gset
SELECT key_id FROM analytics.authenticate_api_key(:'rot_api_key') \gset
SELECT key_id FROM analytics.authorize_api_request(:'rot_api_key') \gset
SELECT is((SELECT ctid::text FROM analytics.api_keys WHERE key_id = :rot_new_key_id), :'touched_ctid',
  'the next ones within the minute write nothing (the row version is unchanged)');
SELECT isnt(:'touched_ctid'::text, :'before_ctid', 'and the first one did write a new row version');

-- ---------------------------------------------------------------------
-- Rate limits: fixed UTC minute and hour, exact
-- ---------------------------------------------------------------------
SELECT * FROM analytics.create_api_key('acme', 'limited', rate_limit_per_minute => 3, rate_limit_per_hour => 100) \gset m_
SELECT results_eq(format($$SELECT allowed, status, limit_name, remaining, resets_at FROM generate_series(1, 4) g, LATERAL analytics.authorize_api_request(CASE WHEN g > 0 THEN %L END) ORDER BY g$$, :'m_api_key'),
  $$VALUES (true, 'allowed', 'rate_limit_per_minute', 2::bigint, date_trunc('minute', now()) + interval '1 minute'),
           (true, 'allowed', 'rate_limit_per_minute', 1::bigint, date_trunc('minute', now()) + interval '1 minute'),
           (true, 'allowed', 'rate_limit_per_minute', 0::bigint, date_trunc('minute', now()) + interval '1 minute'),
           (false, 'rate_limited', 'rate_limit_per_minute', 0::bigint, date_trunc('minute', now()) + interval '1 minute')$$,
  '3 per minute: three admitted, the fourth refused as rate_limited until the next UTC minute');
SELECT results_eq(format($$SELECT org_id, key_id, limit_name, period_start, sum(refused) FROM analytics.api_key_rate_limited WHERE key_id = %s GROUP BY 1, 2, 3, 4$$, :m_key_id),
  format($$VALUES ('acme', %s::bigint, 'rate_limit_per_minute', date_trunc('minute', now()), 1::numeric)$$, :m_key_id),
  'the refusal is logged per key, limit and window');
SELECT results_eq(format($$SELECT hour_start, sum(requests), max(minute_start), sum(minute_requests) FROM analytics.api_key_counters WHERE key_id = %s GROUP BY 1$$, :m_key_id),
  $$VALUES (date_trunc('hour', now()), 3::numeric, date_trunc('minute', now()), 3::numeric)$$,
  'counted: 3 in the hour and in the minute (the refusal is not counted)');
SELECT results_eq(format($$SELECT allowed, key_id, org_id, environment FROM analytics.authorize_api_request(%L)$$, :'m_api_key'),
  format($$VALUES (false, %s::bigint, 'acme', 'live')$$, :m_key_id), 'a refusal still names the key');
-- Another slot's charges of an earlier minute count for the hour only.
SELECT * FROM analytics.create_api_key('acme', 'hourly', rate_limit_per_minute => 10, rate_limit_per_hour => 5) \gset h_
INSERT INTO analytics.api_key_counters VALUES
  ('acme', :h_key_id, date_trunc('hour', now()), 9999, 3, date_trunc('minute', now()) - interval '1 minute', 3);
SELECT results_eq(format($$SELECT allowed, limit_name, remaining FROM generate_series(1, 3) g, LATERAL analytics.authorize_api_request(CASE WHEN g > 0 THEN %L END) ORDER BY g$$, :'h_api_key'),
  $$VALUES (true, 'rate_limit_per_hour', 1::bigint), (true, 'rate_limit_per_hour', 0::bigint), (false, 'rate_limit_per_hour', 0::bigint)$$,
  'an earlier minute''s charges count in the hour, not in this minute: the hourly limit binds');
SELECT results_eq(format($$SELECT allowed, status, limit_name, remaining, resets_at FROM analytics.authorize_api_request(%L)$$, :'rot_api_key'),
  $$VALUES (true, 'allowed', NULL::text, NULL::bigint, NULL::timestamptz)$$, 'a key without limits: allowed, no limit named');
SELECT is_empty(format($$SELECT 1 FROM analytics.api_key_counters WHERE key_id = %s$$, :rot_new_key_id),
  'and nothing counted for it');
SELECT throws_ok(format($$SELECT analytics.authorize_api_request(%L)$$, :'r_api_key'), '28U01', NULL,
  'authorize_api_request refuses a revoked key like authenticate_api_key');
SELECT throws_ok(format($$SELECT analytics.authorize_api_request(%L, scope => 'nope')$$, :'m_api_key'), '42501', NULL,
  'and a missing scope');
-- A rolled-back charge is not counted.
SELECT * FROM analytics.create_api_key('acme', 'savepoint', rate_limit_per_minute => 1) \gset sp_
SAVEPOINT sp;
SELECT allowed FROM analytics.authorize_api_request(:'sp_api_key') \gset
ROLLBACK TO SAVEPOINT sp;
SELECT is((SELECT allowed FROM analytics.authorize_api_request(:'sp_api_key')), true,
  'a charge rolled back to a savepoint frees its place');

-- ---------------------------------------------------------------------
-- Notifications: api_key_created at once, api_key_expiring once per key
-- ---------------------------------------------------------------------
SELECT results_eq(format($$SELECT user_id, org_id, period_start FROM analytics.notifications WHERE limit_name = 'api_key_created:' || %s$$, :k3_key_id),
  $$VALUES ('', 'globex', (now() AT TIME ZONE 'UTC')::date)$$, 'api_key_created: one row for the organization');
SELECT * FROM analytics.create_api_key('globex', 'soon', expires_at => now() + interval '3 days') \gset x_
SELECT * FROM analytics.create_api_key('globex', 'later', expires_at => now() + interval '30 days') \gset y_
SELECT is(analytics.evaluate_alerts(), 1, 'evaluate_alerts writes api_key_expiring for the key expiring within 7 days');
SELECT results_eq($$SELECT org_id, limit_name, used, limit_value FROM analytics.notifications WHERE limit_name LIKE 'api_key_expiring:%'$$,
  format($$VALUES ('globex', 'api_key_expiring:%s', 3.00, 7::numeric)$$, :x_key_id), 'for its organization, with the days left');
SELECT is(analytics.evaluate_alerts(), 0, 'once per key');

-- ---------------------------------------------------------------------
-- Who reads what: never the hash
-- ---------------------------------------------------------------------
CREATE ROLE ua_k_app;
CREATE ROLE ua_k_user;
CREATE ROLE ua_k_orgadmin;
SELECT analytics.grant_app_backend('ua_k_app') \gset
SELECT analytics.grant_end_user('ua_k_user') \gset
SELECT analytics.grant_admin('ua_k_orgadmin', 'globex') \gset
INSERT INTO analytics.org_members (org_id, user_id, role) VALUES
  ('acme', 'olga', 'owner'), ('acme', 'adam', 'admin'), ('acme', 'mia', 'member'), ('globex', 'mia', 'viewer');
SELECT is(pg_temp.as_role('ua_k_app', 'SELECT key_hash FROM analytics.api_keys LIMIT 1'), 'ERROR 42501',
  'the app backend cannot read the hash');
SELECT is(pg_temp.as_role('ua_k_app', 'SELECT count(*) FROM analytics.api_keys WHERE key_prefix IS NOT NULL'), '13',
  'it reads every key''s metadata');
SELECT is(pg_temp.as_role('ua_k_app', format($$SELECT org_id FROM analytics.authorize_api_request(%L)$$, :'rot_api_key')), 'acme',
  'and authorizes requests');
SELECT is(pg_temp.as_role('ua_k_orgadmin', 'SELECT string_agg(DISTINCT org_id, '','') FROM analytics.api_keys'), 'globex',
  'an organization-scoped admin reads its organization''s keys');
SELECT is(pg_temp.as_role('ua_k_orgadmin', 'SELECT key_hash FROM analytics.api_keys LIMIT 1'), 'ERROR 42501', 'never the hash');
SET usage_analytics.user_id = 'olga';
SELECT is(pg_temp.as_role('ua_k_user', 'SELECT string_agg(DISTINCT org_id, '','') FROM analytics.api_keys'), 'acme',
  'an owner identity reads its organization''s keys');
SELECT is(pg_temp.as_role('ua_k_user', 'SELECT key_hash FROM analytics.api_keys LIMIT 1'), 'ERROR 42501', 'never the hash');
SELECT is(pg_temp.as_role('ua_k_user', 'SELECT string_agg(DISTINCT org_id, '','') FROM analytics.api_key_rate_limited'), 'acme',
  'and its organization''s refusals');
SELECT is(pg_temp.as_role('ua_k_user', $$SELECT count(*) FROM analytics.notifications WHERE limit_name LIKE 'api_key_%'$$), '9',
  'and its organization''s key notifications');
SELECT is(pg_temp.as_role('ua_k_user', format($$SELECT analytics.create_api_key('acme', 'mine')$$)), 'ERROR 42501',
  'but makes no key (the app backend does)');
SET usage_analytics.user_id = 'adam';
SELECT is(pg_temp.as_role('ua_k_user', 'SELECT string_agg(DISTINCT org_id, '','') FROM analytics.api_key_counters'), 'acme',
  'an admin identity reads its organization''s counters');
SET usage_analytics.user_id = 'mia';
SELECT is(pg_temp.as_role('ua_k_user', 'SELECT count(*) FROM analytics.api_keys'), '0',
  'a member or viewer identity reads no key');
RESET usage_analytics.user_id;
SELECT is((SELECT count(key_hash) FROM analytics.api_keys), 13::bigint, 'a superuser reads the hashes');

SELECT * FROM finish();
ROLLBACK;
