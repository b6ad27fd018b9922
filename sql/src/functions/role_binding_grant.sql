-- A binding written (by the helpers, or by a restore of a dump) grants its
-- kind's privileges: a restored database, or one updated to a version with
-- new objects, gives every bound role what its kind holds now.
CREATE OR REPLACE FUNCTION analytics.role_binding_grant() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = NEW.role_name) THEN
    RAISE EXCEPTION 'role "%" does not exist', NEW.role_name USING ERRCODE = '42704';
  END IF;
  PERFORM analytics.apply_privileges(NEW.role_name, NEW.kind, NEW.org_id IS NOT NULL, true);
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION analytics.role_binding_grant() IS
  'Trigger: grants a bound role the privileges of its kind (internal)';
REVOKE ALL ON FUNCTION analytics.role_binding_grant() FROM PUBLIC;
