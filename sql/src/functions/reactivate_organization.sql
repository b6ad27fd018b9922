CREATE OR REPLACE FUNCTION analytics.reactivate_organization(org_id text) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_status text;
BEGIN
  IF reactivate_organization.org_id IS NULL THEN
    RAISE EXCEPTION 'org_id must not be null' USING ERRCODE = '23502';
  END IF;
  SELECT o.status INTO v_status FROM analytics.organizations o
   WHERE o.org_id = reactivate_organization.org_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization "%" does not exist', reactivate_organization.org_id USING ERRCODE = '42704';
  END IF;
  IF v_status = 'active' THEN
    RETURN false;
  END IF;
  UPDATE analytics.organizations o SET status = 'active', suspended_at = NULL, updated_at = now()
   WHERE o.org_id = reactivate_organization.org_id;
  RETURN true;
END
$$;
COMMENT ON FUNCTION analytics.reactivate_organization(text) IS
  'Reactivates a suspended organization; returns false if it was active already';
REVOKE ALL ON FUNCTION analytics.reactivate_organization(text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.reactivate_organization(text)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.reactivate_organization(text)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
