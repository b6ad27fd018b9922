CREATE OR REPLACE FUNCTION analytics.grant_act_as(app_role name, end_user_role name) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF app_role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = app_role) THEN
    RAISE EXCEPTION 'role "%" does not exist', app_role USING ERRCODE = '42704';
  END IF;
  IF end_user_role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = end_user_role) THEN
    RAISE EXCEPTION 'role "%" does not exist', end_user_role USING ERRCODE = '42704';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM analytics.role_bindings b WHERE b.role_name = app_role AND b.kind = 'app_backend') THEN
    RAISE EXCEPTION 'role "%" is not an app backend', app_role USING ERRCODE = '22023',
      HINT = 'Run analytics.grant_app_backend() for it first.';
  END IF;
  IF NOT analytics.is_end_user_role(end_user_role) THEN
    RAISE EXCEPTION 'role "%" is not an end-user role', end_user_role USING ERRCODE = '22023',
      DETAIL = 'It must be bound by analytics.grant_end_user() and hold no app backend or admin access.';
  END IF;
  -- SET ROLE needs membership; 16+ can grant it without inheriting.
  EXECUTE format('GRANT %I TO %I', end_user_role, app_role)
    || CASE WHEN current_setting('server_version_num')::int >= 160000 THEN ' WITH INHERIT FALSE' ELSE '' END;
END
$$;
COMMENT ON FUNCTION analytics.grant_act_as(name, name) IS
  'Lets app backend app_role switch to end_user_role with analytics.act_as() (grants the membership SET ROLE needs); superuser only';
REVOKE ALL ON FUNCTION analytics.grant_act_as(name, name) FROM PUBLIC;
