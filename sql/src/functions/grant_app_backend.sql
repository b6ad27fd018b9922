CREATE OR REPLACE FUNCTION analytics.grant_app_backend(role_name name) RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT analytics.apply_access(role_name, 'app_backend', NULL, true);
  END;
COMMENT ON FUNCTION analytics.grant_app_backend(name) IS
  'Lets a role record events, subscribe users, set usage_analytics.user_id and read all rows (the application''s backend)';
REVOKE ALL ON FUNCTION analytics.grant_app_backend(name) FROM PUBLIC;
