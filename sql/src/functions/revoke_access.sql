CREATE OR REPLACE FUNCTION analytics.revoke_access(role_name name, kind text) RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT analytics.apply_access(role_name, kind, NULL, false);
  END;
COMMENT ON FUNCTION analytics.revoke_access(name, text) IS
  'Takes back what grant_app_backend, grant_end_user or grant_admin gave a role';
REVOKE ALL ON FUNCTION analytics.revoke_access(name, text) FROM PUBLIC;
