CREATE OR REPLACE FUNCTION analytics.access_privileges(kind text,
    OUT object_type text, OUT object_name text, OUT privilege text, OUT unscoped_only boolean)
  RETURNS SETOF record
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT a.object_type, a.object_name, a.privilege, a.unscoped_only
      FROM analytics.access_list a
     WHERE a.kind = '*' OR a.kind = access_privileges.kind
     ORDER BY a.object_type DESC, a.object_name
  $$;
COMMENT ON FUNCTION analytics.access_privileges(text) IS
  'The privileges each kind of role (app_backend, end_user, admin) receives from the grant helpers; unscoped_only ones not when scoped to an organization';
REVOKE ALL ON FUNCTION analytics.access_privileges(text) FROM PUBLIC;
