CREATE OR REPLACE FUNCTION analytics.grant_end_user(role_name name) RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT analytics.apply_access(role_name, 'end_user', NULL, true);
  END;
COMMENT ON FUNCTION analytics.grant_end_user(name) IS
  'Lets a role read its own user''s rows (identity from analytics.current_user_id()) and check its own quota';
REVOKE ALL ON FUNCTION analytics.grant_end_user(name) FROM PUBLIC;
