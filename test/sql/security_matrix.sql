\set ECHO none
-- The access matrix: every relation of the schema (tables, partitions,
-- views, materialized views) x every kind of role x SELECT, INSERT, UPDATE,
-- DELETE, tried for real.  The table printed below is the checked-in
-- expectation (test/expected/security_matrix.out): any change of a grant,
-- a policy or a view's security shows up as a diff.  SELECT answers:
-- all = every row, own = exactly the acting user's rows, org = the
-- organization's rows (its own among them), own+org = both, own+org totals =
-- its own rows and the totals (user_id '') of its organization, none = no row
-- of a non-empty relation, empty = the
-- relation has no row at all; otherwise the SQLSTATE.  Commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(5);

CREATE ROLE ua_m_user;
CREATE ROLE ua_m_app;
CREATE ROLE ua_m_admin;
CREATE ROLE ua_m_orgadmin;
CREATE ROLE ua_m_nobody;
SELECT analytics.grant_end_user('ua_m_user') \gset
SELECT analytics.grant_app_backend('ua_m_app') \gset
SELECT analytics.grant_admin('ua_m_admin') \gset
SELECT analytics.grant_admin('ua_m_orgadmin', 'acme') \gset
SELECT analytics.ensure_partitions(0) \gset

-- Two users in every per-user relation; bob belongs to organization acme.
-- acme (owned by carol; bob and alice are members) is on plan m too, so
-- bob's requests in it reach the organization's thresholds; carol also
-- records one request in organization globex.
INSERT INTO analytics.plans (plan_id, name, daily_request_limit, enforcement) VALUES ('m', 'm', 3, 'hard');
SELECT analytics.subscribe('alice', 'm') + analytics.subscribe('bob', 'm') AS subscribed \gset
SELECT analytics.create_organization('acme', 'Acme', owner_id => 'carol'),
       analytics.create_organization('globex', 'Globex', owner_id => 'carol') \gset
SELECT analytics.add_member('acme', 'bob'), analytics.add_member('acme', 'alice') \gset
SELECT analytics.subscribe(NULL, 'm', now() - interval '1 hour', org_id => 'acme') AS org_subscribed \gset
SELECT analytics.record_chat_event('carol', 'gpt-4o', input_tokens => 10, org_id => 'globex') AS carol_event \gset
SELECT count(analytics.record_chat_event(u, 'gpt-4o', input_tokens => 10, response_time_ms => 5,
                                         document_id => 'd', conversation_id => 'c', category => 'x',
                                         query_intent => 'q', sections_referenced => '{s}',
                                         org_id => CASE WHEN u = 'bob' THEN 'acme' END, request_id => u || i))
  FROM unnest(ARRAY['alice', 'bob']) u, generate_series(1, 3) i \gset
SELECT count(*) AS admitted FROM analytics.start_request('alice', 'gpt-4o') a, analytics.start_request('bob', 'gpt-4o') b \gset
SELECT analytics.void_event(min(id), 'm') IS NOT NULL AS voided FROM analytics.chat_events WHERE user_id = 'alice' \gset
SELECT analytics.void_event(min(id), 'm') IS NOT NULL AS voided FROM analytics.chat_events WHERE user_id = 'bob' \gset
-- Alert rules: one for alice, one system-wide; both reached.
INSERT INTO analytics.alert_rules (name, user_id, metric, threshold) VALUES
  ('alice tokens', 'alice', 'tokens_per_month', 1), ('system tokens', NULL, 'tokens_per_month', 1);
-- Organizations acme and other, each with an API key charged twice (once
-- refused), a key about to expire; carol owns acme, alice (the acting
-- identity) is a plain member: she reads no key.
-- (acme and its members are made above.)
INSERT INTO analytics.organizations (org_id, name, slug) VALUES ('other', 'Other', 'other');
INSERT INTO analytics.org_members (org_id, user_id, role) VALUES ('other', 'bob', 'member');
CREATE TEMP TABLE matrix_keys AS
  SELECT k.* FROM unnest(ARRAY['acme', 'other']) o,
         LATERAL analytics.create_api_key(o, 'k', rate_limit_per_hour => 1, expires_at => now() + interval '1 day') k;
SELECT count(a.allowed) AS charged
  FROM matrix_keys k, generate_series(1, 2) i, LATERAL analytics.authorize_api_request(CASE WHEN i > 0 THEN k.api_key END) a \gset
-- API metering: two organizations with a widget each; bob's request in
-- acme, alice's in other; folded, then one more request unfolded.
SELECT count(analytics.create_widget(o, w, 'map', w)) AS widgets FROM (VALUES ('acme', 'wa'), ('other', 'wo')) v(o, w) \gset
SELECT count(analytics.record_api_request(o, '/v1/x', 'GET', 200, 5, widget_id => w, billable_units => 1, user_id => u,
                                          api_key_id => 1, request_id => o || u))
  FROM (VALUES ('acme', 'wa', 'bob'), ('other', 'wo', 'alice'), ('other', NULL, 'carol')) v(o, w, u) \gset
SELECT analytics.fold() \gset
SELECT analytics.record_api_request('acme', '/v1/y', 'POST', 500, 7) AS tail \gset
-- Billing: a draft invoice (one line) of alice, bob and acme, a credit
-- grant of alice, acme and other, consumed by alice's and acme's invoices.
INSERT INTO analytics.credit_grants (org_id, user_id, amount, currency)
  VALUES (NULL, 'alice', 5, 'USD'), ('acme', NULL, 5, 'USD'), ('other', NULL, 5, 'USD');
INSERT INTO analytics.invoices (org_id, user_id, subscription_id, plan_id, currency, time_zone, period_start,
    period_end, period_start_at, period_end_at, due_date, as_of)
  SELECT s.org_id, s.user_id, s.subscription_id, s.plan_id, 'USD', 'UTC', '2026-01-01', '2026-02-01',
         '2026-01-01', '2026-02-01', '2026-02-15', now()
    FROM analytics.subscriptions s WHERE s.user_id IN ('alice', 'bob') OR s.org_id = 'acme';
INSERT INTO analytics.invoice_lines (invoice_id, line_no, org_id, user_id, kind, description, amount)
  SELECT i.invoice_id, 1, i.org_id, i.user_id, 'base', 'm', 1 FROM analytics.invoices i;
INSERT INTO analytics.credit_consumptions (grant_id, invoice_id, org_id, user_id, amount)
  SELECT g.grant_id, i.invoice_id, i.org_id, i.user_id, 1
    FROM analytics.invoices i JOIN analytics.credit_grants g ON g.org_id = i.org_id OR g.user_id = i.user_id;
SELECT analytics.evaluate_alerts() AS alerts \gset
SELECT analytics.refresh_all_views() \gset
SET usage_analytics.user_id = 'alice';

CREATE FUNCTION pg_temp.try(r text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  res text;
BEGIN
  EXECUTE format('SET LOCAL ROLE %I', r);
  BEGIN
    IF q LIKE 'SELECT%' THEN
      EXECUTE q INTO res;
    ELSE
      EXECUTE q;
    END IF;
    res := COALESCE(res, 'ok');
  EXCEPTION WHEN OTHERS THEN
    res := 'ERROR ' || SQLSTATE;
  END;
  RESET ROLE;
  RETURN res;
END
$$;

-- What one role sees of one relation: compared with what the owner sees.
-- Whose rows a relation holds: user_id, or scope_id for the distinct sets.
CREATE FUNCTION pg_temp.user_column(rel regclass) RETURNS name LANGUAGE sql AS $$
  SELECT a.attname FROM pg_attribute a
   WHERE a.attrelid = rel AND a.attname IN ('user_id', 'scope_id') AND NOT a.attisdropped
$$;

-- What one role sees of one relation, compared with what the owner sees.
CREATE FUNCTION pg_temp.visibility(r text, rel regclass) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  ucol name := pg_temp.user_column(rel);
  has_org boolean := EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = 'org_id' AND NOT a.attisdropped);
  probe text := format('SELECT count(*) || ''/'' || %s || ''/'' || %s || ''/'' || %s FROM %s',
                       CASE WHEN ucol IS NULL THEN '0' ELSE format('count(*) FILTER (WHERE %I = ''alice'')', ucol) END,
                       CASE WHEN has_org THEN 'count(*) FILTER (WHERE org_id = ''acme'')' ELSE '0' END,
                       -- An organization's totals: its rows of no user.
                       CASE WHEN has_org AND ucol = 'user_id'
                            THEN 'count(*) FILTER (WHERE org_id = ''acme'' AND user_id = '''')' ELSE '0' END,
                       rel);
  total text;
  seen text;
  n text[];
  t text[];
BEGIN
  EXECUTE probe INTO total;
  seen := pg_temp.try(r, probe);
  IF seen LIKE 'ERROR %' THEN
    RETURN substr(seen, 7);
  END IF;
  n := string_to_array(seen, '/');
  t := string_to_array(total, '/');
  IF t[1] = '0' THEN
    RETURN 'empty';
  ELSIF n = t THEN
    RETURN 'all';
  ELSIF n[1] = '0' THEN
    RETURN 'none';
  ELSIF n[1] = n[2] AND n[2] = t[2] THEN
    RETURN 'own';
  ELSIF n[2] = t[2] AND n[3] = t[3] AND n[1]::int = n[2]::int + n[3]::int THEN
    RETURN 'own+org';
  ELSIF n[2] = t[2] AND n[3] = t[3] AND n[1] = n[3] THEN
    RETURN 'org';                 -- the organization's rows, its own among them
  ELSIF n[2] = t[2] AND n[4] = t[4] AND t[4] <> '0' AND n[1]::int = n[2]::int + n[4]::int THEN
    RETURN 'own+org totals';
  END IF;
  RETURN 'some ' || seen || ' of ' || total;
END
$f$;

CREATE TEMP TABLE matrix AS
SELECT regexp_replace(c.relname, '_[0-9]{6}$', '_<month>') AS relation, c.relkind::text AS kind, r.role,
       pg_temp.user_column(c.oid) IS NOT NULL AS per_user,
       pg_temp.visibility(r.role, c.oid) AS sel,
       regexp_replace(pg_temp.try(r.role, format('INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM %s WHERE false',
                                                 c.oid::regclass, c.oid::regclass)), '^ERROR ', '') AS ins,
       regexp_replace(pg_temp.try(r.role, format('UPDATE %s SET %I = %I WHERE false', c.oid::regclass, a.attname, a.attname)),
                      '^ERROR ', '') AS upd,
       regexp_replace(pg_temp.try(r.role, format('DELETE FROM %s WHERE false', c.oid::regclass)), '^ERROR ', '') AS del
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid
   AND a.attnum = (SELECT min(x.attnum) FROM pg_attribute x WHERE x.attrelid = c.oid AND x.attnum > 0
                      AND x.attidentity = '' AND x.attgenerated = '' AND NOT x.attisdropped),
       unnest(ARRAY['ua_m_user', 'ua_m_app', 'ua_m_admin', 'ua_m_orgadmin', 'ua_m_nobody']) AS r(role)
 WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm');

\pset tuples_only false
SELECT relation, kind, role, sel, ins, upd, del FROM matrix ORDER BY relation, role;
\pset tuples_only true

SELECT is_empty($$SELECT * FROM matrix WHERE role = 'ua_m_user' AND per_user AND sel NOT IN ('own', 'empty', '42501')
                     AND NOT (relation IN ('org_usage_counters', 'org_daily_usage', 'org_monthly_usage') AND sel = 'own+org totals')$$,
  'an end user reads its own rows of per-user relations, nothing else (and the totals of its organizations)');
SELECT is_empty($$SELECT * FROM matrix WHERE role = 'ua_m_nobody' AND sel <> '42501'$$,
  'a role without a binding reads nothing');
SELECT is_empty($$SELECT * FROM matrix WHERE role IN ('ua_m_user', 'ua_m_nobody', 'ua_m_orgadmin') AND (kind = 'm' OR relation LIKE 'mv\_%') AND sel <> '42501'$$,
  'summary tables (the seed''s materialized views) are not readable by end users nor organization-scoped admins');
SELECT is_empty($$SELECT * FROM matrix WHERE (ins = 'ok' OR upd = 'ok' OR del = 'ok')
                     AND NOT (role = 'ua_m_admin' OR role = 'ua_m_orgadmin') $$,
  'nobody but admins writes any relation directly');
SELECT is_empty($$SELECT * FROM matrix WHERE (ins = 'ok' OR upd = 'ok' OR del = 'ok')
                     AND relation NOT IN ('plans', 'model_prices', 'model_aliases', 'alert_rules', 'provider_limits',
                                          'currencies', 'meters', 'plan_charges', 'plan_charge_tiers')$$,
  'admins write plans, prices, model aliases, alert rules, provider limits, currencies, meters and plan charges only');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
DROP OWNED BY ua_m_user, ua_m_app, ua_m_admin, ua_m_orgadmin, ua_m_nobody;
DROP ROLE ua_m_user, ua_m_app, ua_m_admin, ua_m_orgadmin, ua_m_nobody;
