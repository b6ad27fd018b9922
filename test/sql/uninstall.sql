\set ECHO none
\i test/setup.psql
SELECT plan(6);

-- DROP EXTENSION leaves nothing behind: no grants on the settings (so the
-- roles the helpers bound can be dropped), no event trigger.  (The pg_cron
-- jobs are covered by test/t/001_cron_jobs.pl, which has pg_cron.)
CREATE ROLE ua_gone_app;
CREATE ROLE ua_gone_user;
SELECT analytics.grant_app_backend('ua_gone_app') \gset
SELECT analytics.grant_end_user('ua_gone_user') \gset
GRANT SET ON PARAMETER usage_analytics.trust_jwt_claims TO PUBLIC;
SELECT ok((SELECT count(*) FROM pg_parameter_acl WHERE parname LIKE 'usage\_analytics.%') > 0,
  'the helpers granted SET on a setting');

DROP EXTENSION usage_analytics;
SELECT is((SELECT count(*) FROM pg_parameter_acl p, aclexplode(p.paracl) a
            WHERE p.parname LIKE 'usage\_analytics.%'), 0::bigint, 'no grant on the settings is left');
SELECT lives_ok('DROP ROLE ua_gone_app', 'the app backend role can be dropped');
SELECT lives_ok('DROP ROLE ua_gone_user', 'and the end-user role');
SELECT is((SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'usage_analytics%'), 0::bigint, 'no event trigger is left');

-- Dropping another extension does not run the cleanup.
CREATE EXTENSION usage_analytics;
CREATE ROLE ua_kept_app;
SELECT analytics.grant_app_backend('ua_kept_app') \gset
DROP EXTENSION IF EXISTS no_such_extension;
SELECT ok((SELECT count(*) FROM pg_parameter_acl p, aclexplode(p.paracl) a
            WHERE p.parname = 'usage_analytics.user_id' AND a.grantee = 'ua_kept_app'::regrole) = 1,
  'DROP EXTENSION of another extension leaves the grants in place');

SELECT * FROM finish();
ROLLBACK;
