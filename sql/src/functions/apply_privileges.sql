CREATE OR REPLACE FUNCTION analytics.apply_privileges(role_name name, kind text, scoped boolean, do_grant boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p record;
BEGIN
  FOR p IN SELECT * FROM analytics.access_privileges(kind) LOOP
    EXECUTE format(CASE WHEN do_grant AND NOT (scoped AND p.unscoped_only) THEN 'GRANT %s ON %s %s TO %I'
                        ELSE 'REVOKE %s ON %s %s FROM %I' END,
                   p.privilege, p.object_type, p.object_name, role_name);
  END LOOP;
END
$$;
COMMENT ON FUNCTION analytics.apply_privileges(name, text, boolean, boolean) IS
  'Grants or revokes the privileges of a kind of role (internal to the grant helpers)';
REVOKE ALL ON FUNCTION analytics.apply_privileges(name, text, boolean, boolean) FROM PUBLIC;
