CREATE OR REPLACE FUNCTION analytics.remove_member(org_id text, user_id text) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_role text;
BEGIN
  IF remove_member.org_id IS NULL OR remove_member.user_id IS NULL THEN
    RAISE EXCEPTION 'org_id and user_id must not be null' USING ERRCODE = '23502';
  END IF;
  PERFORM 1 FROM analytics.organizations o WHERE o.org_id = remove_member.org_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization "%" does not exist', remove_member.org_id USING ERRCODE = '42704';
  END IF;
  SELECT m.role INTO v_role FROM analytics.org_members m
   WHERE m.org_id = remove_member.org_id AND m.user_id = remove_member.user_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'user "%" is not a member of organization "%"', remove_member.user_id, remove_member.org_id
      USING ERRCODE = '42704';
  END IF;
  IF v_role = 'owner'
     AND NOT EXISTS (SELECT 1 FROM analytics.org_members m
                      WHERE m.org_id = remove_member.org_id AND m.role = 'owner'
                        AND m.user_id <> remove_member.user_id) THEN
    RAISE EXCEPTION 'cannot remove the last owner of organization "%"', remove_member.org_id
      USING ERRCODE = '55000', HINT = 'Make another member owner first.';
  END IF;
  DELETE FROM analytics.org_members m
   WHERE m.org_id = remove_member.org_id AND m.user_id = remove_member.user_id;
END
$$;
COMMENT ON FUNCTION analytics.remove_member(text, text) IS
  'Removes a user from an organization (its recorded usage stays); the last owner cannot be removed';
REVOKE ALL ON FUNCTION analytics.remove_member(text, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.remove_member(text, text)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.remove_member(text, text)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
