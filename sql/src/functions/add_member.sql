CREATE OR REPLACE FUNCTION analytics.add_member(org_id text, user_id text, role text DEFAULT 'member',
    monthly_request_cap bigint DEFAULT NULL, monthly_token_cap bigint DEFAULT NULL,
    monthly_cost_cap numeric DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF add_member.org_id IS NULL OR add_member.user_id IS NULL OR add_member.user_id = '' OR add_member.role IS NULL THEN
    RAISE EXCEPTION 'org_id, user_id and role must not be null or empty' USING ERRCODE = '23502';
  END IF;
  IF octet_length(add_member.user_id) > 200 THEN
    RAISE EXCEPTION 'user_id must be at most 200 bytes' USING ERRCODE = '22001';
  END IF;
  PERFORM analytics.check_member_fields(add_member.role, add_member.monthly_request_cap,
    add_member.monthly_token_cap, add_member.monthly_cost_cap);
  -- Member changes of one organization are serialized on its row.
  PERFORM 1 FROM analytics.organizations o WHERE o.org_id = add_member.org_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization "%" does not exist', add_member.org_id USING ERRCODE = '42704';
  END IF;
  IF EXISTS (SELECT 1 FROM analytics.org_members m
              WHERE m.org_id = add_member.org_id AND m.user_id = add_member.user_id) THEN
    RAISE EXCEPTION 'user "%" is a member of organization "%" already', add_member.user_id, add_member.org_id
      USING ERRCODE = '23505', HINT = 'Use analytics.update_member to change the role or caps.';
  END IF;
  INSERT INTO analytics.org_members (org_id, user_id, role, monthly_request_cap, monthly_token_cap, monthly_cost_cap)
  VALUES (add_member.org_id, add_member.user_id, add_member.role, add_member.monthly_request_cap,
          add_member.monthly_token_cap, add_member.monthly_cost_cap);
END
$$;
COMMENT ON FUNCTION analytics.add_member(text, text, text, bigint, bigint, numeric) IS
  'Adds a user to an organization with a role (owner, admin, member, viewer) and optional monthly caps inside the organization''s plan';
REVOKE ALL ON FUNCTION analytics.add_member(text, text, text, bigint, bigint, numeric) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.add_member(text, text, text, bigint, bigint, numeric)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.add_member(text, text, text, bigint, bigint, numeric)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
