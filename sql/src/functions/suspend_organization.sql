CREATE OR REPLACE FUNCTION analytics.suspend_organization(org_id text) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_status text;
BEGIN
  IF suspend_organization.org_id IS NULL THEN
    RAISE EXCEPTION 'org_id must not be null' USING ERRCODE = '23502';
  END IF;
  SELECT o.status INTO v_status FROM analytics.organizations o
   WHERE o.org_id = suspend_organization.org_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization "%" does not exist', suspend_organization.org_id USING ERRCODE = '42704';
  END IF;
  IF v_status = 'suspended' THEN
    RETURN false;
  END IF;
  UPDATE analytics.organizations o SET status = 'suspended', suspended_at = now(), updated_at = now()
   WHERE o.org_id = suspend_organization.org_id;
  RETURN true;
END
$$;
COMMENT ON FUNCTION analytics.suspend_organization(text) IS
  'Suspends an organization: start_request and check_quota refuse its requests (55000) until it is reactivated; record_chat_event still records usage that happened; returns false if it was suspended already';
REVOKE ALL ON FUNCTION analytics.suspend_organization(text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.suspend_organization(text)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.suspend_organization(text)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
