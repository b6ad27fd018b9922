CREATE OR REPLACE FUNCTION analytics.grant_admin(role_name name, org_id text DEFAULT NULL) RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT analytics.apply_access(role_name, 'admin', org_id, true);
  END;
COMMENT ON FUNCTION analytics.grant_admin(name, text) IS
  'Lets a role read every row and manage plans and prices; with org_id, read that organization''s events only';
REVOKE ALL ON FUNCTION analytics.grant_admin(name, text) FROM PUBLIC;
