CREATE OR REPLACE FUNCTION analytics.identity_org_ids(roles text[] DEFAULT '{owner,admin,member,viewer}')
  RETURNS text[]
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  BEGIN ATOMIC
    SELECT COALESCE(array_agg(m.org_id ORDER BY m.org_id), '{}')
      FROM analytics.org_members m
     WHERE m.user_id = analytics.current_user_id() AND m.role = ANY (roles);
  END;
COMMENT ON FUNCTION analytics.identity_org_ids(text[]) IS
  'Organizations in which the identity (analytics.current_user_id()) has one of the roles: what the row-level security policies of organization rows ask, without a policy reading org_members through its own policy';
REVOKE ALL ON FUNCTION analytics.identity_org_ids(text[]) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.identity_org_ids(text[])', 'EXECUTE')
  ON CONFLICT DO NOTHING;
