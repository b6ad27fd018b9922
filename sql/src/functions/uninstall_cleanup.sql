CREATE OR REPLACE FUNCTION analytics.uninstall_cleanup() RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  g record;
BEGIN
  IF to_regclass('cron.job') IS NOT NULL THEN
    BEGIN
      PERFORM analytics.unschedule_jobs();
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
      NULL;   -- pg_cron's functions are not there: no jobs either
    END;
  END IF;
  FOR g IN SELECT p.parname, a.grantee
             FROM pg_parameter_acl p, aclexplode(p.paracl) a
            WHERE p.parname LIKE 'usage\_analytics.%'
  LOOP
    EXECUTE format('REVOKE ALL ON PARAMETER %s FROM %s', g.parname,
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END);
  END LOOP;
END
$$;
COMMENT ON FUNCTION analytics.uninstall_cleanup() IS
  'Removes the extension''s pg_cron jobs and every grant on its settings; run by DROP EXTENSION (internal)';
REVOKE ALL ON FUNCTION analytics.uninstall_cleanup() FROM PUBLIC;
