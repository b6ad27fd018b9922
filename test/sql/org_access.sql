\set ECHO none
\i test/setup.psql
SELECT plan(19);

-- Who reads what of an organization (SPEC section 9), by identity
-- (analytics.current_user_id()) for an end-user role, and for a role bound
-- with grant_admin(role, org_id): owners and admins read the
-- organization's events, counters and members; a member its own rows and
-- the organization's totals; a viewer the totals only.

CREATE ROLE ua_oa_user;
CREATE ROLE ua_oa_orgadmin;
SELECT analytics.grant_end_user('ua_oa_user') \gset
SELECT analytics.grant_admin('ua_oa_orgadmin', 'acme') \gset
SELECT analytics.create_organization('acme', 'Acme', owner_id => 'own'),
       analytics.create_organization('globex', 'Globex', owner_id => 'gx') \gset
SELECT analytics.add_member('acme', 'adm', 'admin'), analytics.add_member('acme', 'mem'),
       analytics.add_member('acme', 'vw', 'viewer') \gset
SELECT count(analytics.record_chat_event('mem', 'gpt-4o', input_tokens => 10, org_id => 'acme')),
       count(analytics.record_chat_event('adm', 'gpt-4o', input_tokens => 20, org_id => 'acme'))
  FROM generate_series(1, 2) \gset
SELECT analytics.record_chat_event('gx', 'gpt-4o', input_tokens => 30, org_id => 'globex') AS gx_event,
       analytics.record_chat_event('own', 'gpt-4o', input_tokens => 40) AS own_event \gset

-- What the identity sees: events, members, counter rows (org/user), org_daily_usage rows, its orgs.
CREATE FUNCTION pg_temp.seen(identity text, r text DEFAULT 'ua_oa_user') RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('usage_analytics.user_id', COALESCE(identity, ''), true);
  RETURN pg_temp.as_role(r, $q$SELECT concat_ws(' | ',
    'events ' || (SELECT string_agg(user_id || ':' || COALESCE(org_id, '-'), ',' ORDER BY user_id, org_id) FROM analytics.chat_events),
    'members ' || (SELECT string_agg(org_id || ':' || user_id, ',' ORDER BY org_id, user_id) FROM analytics.org_members),
    'orgs ' || (SELECT string_agg(org_id, ',' ORDER BY org_id) FROM analytics.organizations),
    'daily ' || (SELECT string_agg(org_id || ':' || CASE WHEN user_id = '' THEN 'total' ELSE user_id END || '=' || requests,
                                   ',' ORDER BY org_id, user_id) FROM analytics.org_daily_usage),
    'mine ' || array_to_string(analytics.identity_org_ids(), ','))$q$);
END
$$;

SELECT is(pg_temp.seen('own'),
  'events adm:acme,adm:acme,mem:acme,mem:acme,own:- | members acme:adm,acme:mem,acme:own,acme:vw | orgs acme | daily acme:total=4,acme:adm=2,acme:mem=2 | mine acme',
  'the owner reads the organization''s events, members and every counter row');
SELECT is(pg_temp.seen('adm'),
  'events adm:acme,adm:acme,mem:acme,mem:acme | members acme:adm,acme:mem,acme:own,acme:vw | orgs acme | daily acme:total=4,acme:adm=2,acme:mem=2 | mine acme',
  'an admin likewise');
SELECT is(pg_temp.seen('mem'),
  'events mem:acme,mem:acme | members acme:mem | orgs acme | daily acme:total=4,acme:mem=2 | mine acme',
  'a member: its own rows and the organization''s totals');
SELECT is(pg_temp.seen('vw'),
  'members acme:vw | orgs acme | daily acme:total=4 | mine acme',
  'a viewer: the totals only');
SELECT is(pg_temp.seen('gx'),
  'events gx:globex | members globex:gx | orgs globex | daily globex:total=1,globex:gx=1 | mine globex',
  'the owner of another organization sees nothing of acme');
SELECT is(pg_temp.seen(NULL), 'mine ', 'no identity: nothing');
SELECT is(pg_temp.seen(NULL, 'ua_oa_orgadmin'),
  'events adm:acme,adm:acme,mem:acme,mem:acme | members acme:adm,acme:mem,acme:own,acme:vw | orgs acme | daily acme:total=4,acme:adm=2,acme:mem=2 | mine ',
  'a role bound with grant_admin(role, ''acme'') reads acme''s events, members and counters');

-- The organization's dashboard: every member and viewer reads the totals;
-- another organization's is unknown, as one that does not exist.
CREATE FUNCTION pg_temp.dash(identity text, org text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('usage_analytics.user_id', identity, true);
  RETURN pg_temp.as_role('ua_oa_user', format($q$SELECT concat_ws(' ', d #>> '{organization,id}', d #>> '{organization,plan}', d #>> '{metrics,requestsThisMonth}', d #>> '{metrics,totalTokensUsed}',
           d #>> '{limits,monthlyUsed}') FROM analytics.org_dashboard(%L) d$q$, org));
END
$$;
SELECT is(pg_temp.dash('vw', 'acme'), 'acme ' || analytics.setting('default_plan') || ' 4 60 4',
  'org_dashboard: a viewer reads the organization''s totals (plan, requests, tokens)');
SELECT is(pg_temp.dash('own', 'acme'), pg_temp.dash('mem', 'acme'), 'the owner and a member read the same dashboard');
SELECT is(pg_temp.dash('gx', 'acme'), 'ERROR 42704', 'another organization''s dashboard: unknown (42704)');
SELECT throws_ok($$SELECT analytics.org_dashboard(NULL)$$, '23502', NULL, 'org_dashboard(NULL): 23502');
SELECT throws_ok($$SELECT analytics.org_dashboard('nope')$$, '42704', NULL, 'an organization that does not exist: 42704');

-- Identity switches within a session follow at once.
SELECT is(pg_temp.seen('mem') <> pg_temp.seen('vw'), true, 'switching the identity switches what is seen');
SELECT analytics.update_member('acme', 'vw', 'admin') \gset
SELECT ok(pg_temp.seen('vw') LIKE 'events adm:acme%', 'a viewer made admin reads the events at once');
SELECT analytics.remove_member('acme', 'vw') \gset
SELECT is(pg_temp.seen('vw'), 'mine ', 'a removed member reads nothing of the organization');

-- The organization's notifications: its owners and admins, not members.
INSERT INTO analytics.plans (plan_id, name, monthly_request_limit, enforcement, warn_thresholds)
VALUES ('five', 'Five', 5, 'hard', '{1.0}');
SELECT analytics.subscribe(NULL, 'five', now() - interval '1 hour', org_id => 'acme') \gset
SELECT analytics.record_chat_event('mem', 'gpt-4o', input_tokens => 1, org_id => 'acme') \gset
SELECT results_eq($$SELECT pg_temp.as_role('ua_oa_user', 'SELECT count(*)::text FROM analytics.notifications')
                      FROM (SELECT set_config('usage_analytics.user_id', u, true) FROM unnest(ARRAY['own', 'mem']) u) x$$,
  $$VALUES ('1'), ('0')$$, 'the owner reads the organization''s threshold notification, a member does not');

-- Organization-scoped admins and end users cannot manage organizations.
SELECT is(pg_temp.as_role('ua_oa_orgadmin', $$SELECT analytics.create_organization('x', 'X')$$), 'ERROR 42501',
  'an organization-scoped admin cannot create organizations');
SELECT is(pg_temp.as_role('ua_oa_orgadmin', $$SELECT analytics.add_member('acme', 'x')::text$$), 'ERROR 42501',
  'nor manage members');
SELECT is(pg_temp.as_role('ua_oa_user', $$SELECT count(*)::text FROM analytics.org_subject_at('acme', now())$$), '1',
  'org_subject_at is readable (plans are)');

SELECT * FROM finish();
ROLLBACK;
