-- The organizations whose API metering the identity of the session reads:
-- those where current_user_id() is an owner or admin (org_members, read as
-- the owner: the caller's own membership rows only).
CREATE OR REPLACE FUNCTION analytics.metering_identity_orgs() RETURNS text[]
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  BEGIN ATOMIC
    SELECT COALESCE(pg_catalog.array_agg(m.org_id), '{}')
      FROM analytics.org_members m
     WHERE m.user_id OPERATOR(pg_catalog.=) analytics.current_user_id()
       AND m.role OPERATOR(pg_catalog.=) ANY ('{owner,admin}'::text[]);
  END;
COMMENT ON FUNCTION analytics.metering_identity_orgs() IS
  'Organizations where the session''s identity (current_user_id()) is an owner or admin: RLS lets it read their widgets, API requests and API rollups';
REVOKE ALL ON FUNCTION analytics.metering_identity_orgs() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.metering_identity_orgs()', 'EXECUTE')
  ON CONFLICT DO NOTHING;
