CREATE OR REPLACE FUNCTION analytics.is_end_user_role(r name) RETURNS boolean
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT EXISTS (SELECT 1 FROM analytics.role_bindings b
                    WHERE b.role_name OPERATOR(pg_catalog.=) r AND b.kind OPERATOR(pg_catalog.=) 'end_user')
       AND NOT EXISTS (SELECT 1 FROM analytics.role_kinds(r) k
                        WHERE k.kind OPERATOR(pg_catalog.=) ANY ('{app_backend,admin}'::text[]));
  END;
COMMENT ON FUNCTION analytics.is_end_user_role(name) IS
  'True when role r is bound by grant_end_user and holds no app backend or admin access (internal to act_as and grant_act_as)';
REVOKE ALL ON FUNCTION analytics.is_end_user_role(name) FROM PUBLIC;
