\set ECHO none
\i test/setup.psql
SELECT plan(52);

-- Organizations and members: the management functions (app backends and
-- unscoped admins), every bad input with its SQLSTATE.

-- create_organization
SELECT is(analytics.create_organization('acme', 'Acme Corp', owner_id => 'alice'), 'acme', 'create_organization returns org_id');
SELECT results_eq($$SELECT slug, time_zone, currency, tax_rate, status FROM analytics.organizations WHERE org_id = 'acme'$$,
  $$VALUES ('acme-corp', 'UTC', 'USD', 0::numeric, 'active')$$, 'the slug comes from the name; defaults');
SELECT results_eq($$SELECT user_id, role FROM analytics.org_members WHERE org_id = 'acme'$$,
  $$VALUES ('alice', 'owner')$$, 'owner_id is its first owner');
SELECT lives_ok($$SELECT analytics.create_organization('globex', 'Globex', 'globex', 'Europe/Paris', 'EUR', 0.2,
  'billing@globex.example', '{"tier": "gold"}')$$, 'every field given');
SELECT throws_ok($$SELECT analytics.create_organization(NULL, 'x')$$, '23502', NULL, 'no org_id');
SELECT throws_ok($$SELECT analytics.create_organization('', 'x')$$, '23502', NULL, 'empty org_id');
SELECT throws_ok($$SELECT analytics.create_organization(repeat('o', 201), 'x')$$, '22001', NULL, 'org_id too long');
SELECT throws_ok($$SELECT analytics.create_organization('x', NULL)$$, '23502', NULL, 'no name');
SELECT throws_ok($$SELECT analytics.create_organization('acme', 'Other')$$, '23505',
  'organization "acme" already exists', 'duplicate org_id');
SELECT throws_ok($$SELECT analytics.create_organization('acme2', 'Acme Corp')$$, '23505',
  'slug "acme-corp" is taken by another organization', 'duplicate slug (derived)');
SELECT throws_ok($$SELECT analytics.create_organization('acme3', 'X', slug => 'globex')$$, '23505',
  'slug "globex" is taken by another organization', 'duplicate slug (given)');
SELECT throws_ok($$SELECT analytics.create_organization('x', 'X', slug => 'Bad Slug')$$, '22023',
  'invalid slug "Bad Slug"', 'bad slug');
SELECT throws_ok($$SELECT analytics.create_organization('x', '!!!')$$, '22023',
  'cannot derive a slug from the name "!!!"', 'no slug derivable');
SELECT throws_ok($$SELECT analytics.create_organization('x', 'X', time_zone => 'Mars/Olympus')$$, '22023',
  'unknown time zone "Mars/Olympus"', 'bad time zone');
SELECT throws_ok($$SELECT analytics.create_organization('x', 'X', currency => 'usd')$$, '22023',
  'invalid currency "usd"', 'bad currency');
SELECT throws_ok($$SELECT analytics.create_organization('x', 'X', tax_rate => 1)$$, '22023', NULL, 'tax rate 100 %');
SELECT throws_ok($$SELECT analytics.create_organization('x', 'X', tax_rate => -0.1)$$, '22023', NULL, 'negative tax rate');
SELECT throws_ok($$SELECT analytics.create_organization('x', 'X', billing_email => 'nobody')$$, '22023',
  'invalid billing_email "nobody"', 'bad billing email');
SELECT throws_ok($$SELECT analytics.create_organization('x', 'X', metadata => '[1]')$$, '22023',
  'metadata must be a JSON object', 'metadata not an object');
SELECT throws_ok($$SELECT analytics.create_organization('x', 'X', time_zone => NULL)$$, '23502', NULL, 'NULL time zone');
SELECT throws_ok($$SELECT analytics.create_organization('x', 'X', owner_id => '')$$, '22023', NULL, 'empty owner');
SELECT is((SELECT count(*) FROM analytics.organizations), 2::bigint, 'nothing written by the failures');

-- update_organization
SELECT lives_ok($$SELECT analytics.update_organization('acme', time_zone => 'Asia/Tokyo', billing_email => 'a@acme.example')$$,
  'update some fields');
SELECT results_eq($$SELECT name, time_zone, billing_email FROM analytics.organizations WHERE org_id = 'acme'$$,
  $$VALUES ('Acme Corp', 'Asia/Tokyo', 'a@acme.example')$$, 'the others unchanged');
SELECT throws_ok($$SELECT analytics.update_organization('nope', name => 'N')$$, '42704',
  'organization "nope" does not exist', 'update an unknown organization');
SELECT throws_ok($$SELECT analytics.update_organization('acme', slug => 'globex')$$, '23505', NULL, 'update to a taken slug');
SELECT throws_ok($$SELECT analytics.update_organization('acme', currency => 'EURO')$$, '22023', NULL, 'update to a bad currency');
SELECT throws_ok($$SELECT analytics.update_organization('acme', time_zone => 'Nowhere')$$, '22023', NULL, 'update to a bad time zone');

-- suspend / reactivate
SELECT is(analytics.suspend_organization('acme'), true, 'suspend');
SELECT results_eq($$SELECT status, suspended_at IS NOT NULL FROM analytics.organizations WHERE org_id = 'acme'$$,
  $$VALUES ('suspended', true)$$, 'suspended, with the time');
SELECT is(analytics.suspend_organization('acme'), false, 'suspending again changes nothing');
SELECT is(analytics.reactivate_organization('acme'), true, 'reactivate');
SELECT is(analytics.reactivate_organization('acme'), false, 'reactivating again changes nothing');
SELECT throws_ok($$SELECT analytics.suspend_organization('nope')$$, '42704', NULL, 'suspend an unknown organization');
SELECT throws_ok($$SELECT analytics.reactivate_organization(NULL)$$, '23502', NULL, 'reactivate NULL');

-- members
SELECT lives_ok($$SELECT analytics.add_member('acme', 'bob', 'admin')$$, 'add an admin');
SELECT lives_ok($$SELECT analytics.add_member('acme', 'carol', monthly_request_cap => 10, monthly_cost_cap => 2.5)$$,
  'add a member with caps');
SELECT results_eq($$SELECT role, monthly_request_cap, monthly_token_cap, monthly_cost_cap FROM analytics.org_members
                     WHERE org_id = 'acme' AND user_id = 'carol'$$,
  $$VALUES ('member', 10::bigint, NULL::bigint, 2.5::numeric)$$, 'role member by default, caps kept');
SELECT throws_ok($$SELECT analytics.add_member('acme', 'bob')$$, '23505', NULL, 'a member twice');
SELECT throws_ok($$SELECT analytics.add_member('nope', 'bob')$$, '42704', 'organization "nope" does not exist',
  'add to an unknown organization');
SELECT throws_ok($$SELECT analytics.add_member('acme', 'dave', 'superuser')$$, '22023', 'invalid role "superuser"', 'bad role');
SELECT throws_ok($$SELECT analytics.add_member('acme', 'dave', monthly_token_cap => -1)$$, '22023', NULL, 'negative cap');
SELECT throws_ok($$SELECT analytics.add_member('acme', 'dave', monthly_cost_cap => 'Infinity')$$, '22023', NULL, 'infinite cost cap');
SELECT throws_ok($$SELECT analytics.add_member('acme', '')$$, '23502', NULL, 'empty user');
SELECT lives_ok($$SELECT analytics.update_member('acme', 'carol', 'viewer', monthly_token_cap => 500, remove_caps => true)$$,
  'update role and caps');
SELECT results_eq($$SELECT role, monthly_request_cap, monthly_token_cap, monthly_cost_cap FROM analytics.org_members
                     WHERE org_id = 'acme' AND user_id = 'carol'$$,
  $$VALUES ('viewer', NULL::bigint, 500::bigint, NULL::numeric)$$, 'remove_caps drops the caps not given');
SELECT throws_ok($$SELECT analytics.update_member('acme', 'zed', 'admin')$$, '42704',
  'user "zed" is not a member of organization "acme"', 'update an unknown member');
SELECT throws_ok($$SELECT analytics.update_member('acme', 'alice', 'admin')$$, '55000',
  'cannot demote the last owner of organization "acme"', 'demote the last owner');
SELECT throws_ok($$SELECT analytics.remove_member('acme', 'alice')$$, '55000',
  'cannot remove the last owner of organization "acme"', 'remove the last owner');
SELECT lives_ok($$SELECT analytics.update_member('acme', 'bob', 'owner'); SELECT analytics.update_member('acme', 'alice', 'member')$$,
  'with a second owner, the first may be demoted');
SELECT throws_ok($$SELECT analytics.remove_member('acme', 'zed')$$, '42704', NULL, 'remove an unknown member');

-- Who may call them: app backends, not end users.
CREATE ROLE ua_org_app;
CREATE ROLE ua_org_user;
SELECT analytics.grant_app_backend('ua_org_app') \gset
SELECT analytics.grant_end_user('ua_org_user') \gset
SELECT results_eq($$SELECT pg_temp.as_role('ua_org_app', 'SELECT analytics.add_member(''globex'', ''erin'')::text'),
                           pg_temp.as_role('ua_org_user', 'SELECT analytics.add_member(''globex'', ''frank'')::text'),
                           pg_temp.as_role('ua_org_user', 'SELECT analytics.create_organization(''mine'', ''Mine'')')$$,
  $$VALUES ('', 'ERROR 42501', 'ERROR 42501')$$, 'an app backend manages organizations; an end user may not');

SELECT * FROM finish();
ROLLBACK;
