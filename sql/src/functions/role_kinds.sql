-- The kinds of access role r holds, directly or through membership, with
-- their organization (NULL: all rows).  Superusers hold every kind.  The
-- one definition of access; SETOF so that callers' statements inline it.
-- Reads role_bindings: callable by the owner only; see role_has_kind.
CREATE OR REPLACE FUNCTION analytics.role_kinds(r name)
  RETURNS TABLE (kind text, org_id text)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT b.kind, b.org_id
      FROM analytics.role_bindings b
     WHERE pg_catalog.pg_has_role(r, b.role_name, 'USAGE')
    UNION ALL
    SELECT k.kind, NULL
      FROM pg_catalog.pg_roles a,
           pg_catalog.unnest('{app_backend,end_user,admin}'::text[]) AS k(kind)
     WHERE a.rolname OPERATOR(pg_catalog.=) r AND a.rolsuper;
  END;
COMMENT ON FUNCTION analytics.role_kinds(name) IS
  'The kinds of access (app_backend, end_user, admin) a role holds, with the organization of org-scoped admin bindings';
REVOKE ALL ON FUNCTION analytics.role_kinds(name) FROM PUBLIC;
