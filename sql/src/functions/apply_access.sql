CREATE OR REPLACE FUNCTION analytics.apply_access(role_name name, kind text, org_id text, do_grant boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  on_coordinator boolean := false;
  failed text;
BEGIN
  IF role_name IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = role_name) THEN
    RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = '42704';
  END IF;
  IF kind <> 'admin' AND org_id IS NOT NULL THEN
    RAISE EXCEPTION 'only admin access can be scoped to an organization' USING ERRCODE = '22023';
  END IF;
  -- On a Citus coordinator: the GRANTs of distributed tables go through one
  -- connection per node (Citus refuses them after a parallel operation in
  -- the transaction), and every worker records the same binding with its
  -- own privileges (its policies and functions run there; Citus does not
  -- propagate the privileges of an extension's functions).
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    EXECUTE $q$SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition
                               WHERE logicalrelid = 'analytics.chat_events'::regclass)
                      AND (SELECT groupid FROM pg_catalog.pg_dist_local_group) = 0$q$
       INTO on_coordinator;
  END IF;
  -- The workers first: their own GRANTs commit before this transaction's
  -- GRANTs of distributed tables reach them (no wait on each other).
  IF on_coordinator THEN
    SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
      FROM run_command_on_workers(format(
             'SET LOCAL citus.enable_ddl_propagation TO off; SELECT analytics.apply_access(%L, %L, %L, %L)',
             role_name, kind, org_id, do_grant)) w
     WHERE NOT w.success;
    IF failed IS NOT NULL THEN
      RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
    END IF;
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
