CREATE OR REPLACE FUNCTION analytics.apply_access(role_name name, kind text, org_id text, do_grant boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF role_name IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = role_name) THEN
    RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = '42704';
  END IF;
  IF kind <> 'admin' AND org_id IS NOT NULL THEN
    RAISE EXCEPTION 'only admin access can be scoped to an organization' USING ERRCODE = '22023';
  END IF;
  IF do_grant THEN
    -- The binding's trigger grants.
    INSERT INTO analytics.role_bindings AS b (role_name, kind, org_id)
    VALUES (apply_access.role_name, apply_access.kind, apply_access.org_id)
    ON CONFLICT ON CONSTRAINT role_bindings_pkey DO UPDATE SET org_id = EXCLUDED.org_id, granted_at = now();
  ELSE
    PERFORM analytics.apply_privileges(role_name, kind, false, false);
    DELETE FROM analytics.role_bindings b WHERE b.role_name = apply_access.role_name AND b.kind = apply_access.kind;
    -- What the role's other kinds share with this one stays granted.
    PERFORM analytics.apply_privileges(b.role_name, b.kind, b.org_id IS NOT NULL, true)
       FROM analytics.role_bindings b WHERE b.role_name = apply_access.role_name;
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.apply_access(name, text, text, boolean) IS
  'Records or removes a binding of a role to a kind of access, with its privileges (internal to the grant helpers)';
REVOKE ALL ON FUNCTION analytics.apply_access(name, text, text, boolean) FROM PUBLIC;
