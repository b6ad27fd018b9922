CREATE OR REPLACE FUNCTION analytics.managed_org_ids() RETURNS text[]
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT pg_catalog.array_agg(m.org_id ORDER BY m.org_id)
      FROM analytics.org_members m
     WHERE m.user_id OPERATOR(pg_catalog.=) analytics.current_user_id()
       AND m.role OPERATOR(pg_catalog.=) ANY ('{owner,admin}'::text[])
  $$;
COMMENT ON FUNCTION analytics.managed_org_ids() IS
  'Organizations the current identity (current_user_id()) is an owner or admin of: RLS lets it read their API keys (never the hash), rate-limit counters and refusals, notifications, widgets, API requests and API rollups';
REVOKE ALL ON FUNCTION analytics.managed_org_ids() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.managed_org_ids()', 'EXECUTE')
  ON CONFLICT DO NOTHING;
