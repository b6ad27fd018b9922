CREATE OR REPLACE FUNCTION analytics.update_member(org_id text, user_id text, role text DEFAULT NULL,
    monthly_request_cap bigint DEFAULT NULL, monthly_token_cap bigint DEFAULT NULL,
    monthly_cost_cap numeric DEFAULT NULL, remove_caps boolean DEFAULT false)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_role text;
BEGIN
  IF update_member.org_id IS NULL OR update_member.user_id IS NULL OR update_member.remove_caps IS NULL THEN
    RAISE EXCEPTION 'org_id, user_id and remove_caps must not be null' USING ERRCODE = '23502';
  END IF;
  PERFORM analytics.check_member_fields(update_member.role, update_member.monthly_request_cap,
    update_member.monthly_token_cap, update_member.monthly_cost_cap);
  PERFORM 1 FROM analytics.organizations o WHERE o.org_id = update_member.org_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization "%" does not exist', update_member.org_id USING ERRCODE = '42704';
  END IF;
  SELECT m.role INTO v_role FROM analytics.org_members m
   WHERE m.org_id = update_member.org_id AND m.user_id = update_member.user_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'user "%" is not a member of organization "%"', update_member.user_id, update_member.org_id
      USING ERRCODE = '42704';
  END IF;
  IF v_role = 'owner' AND update_member.role IS DISTINCT FROM 'owner' AND update_member.role IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM analytics.org_members m
                      WHERE m.org_id = update_member.org_id AND m.role = 'owner'
                        AND m.user_id <> update_member.user_id) THEN
    RAISE EXCEPTION 'cannot demote the last owner of organization "%"', update_member.org_id
      USING ERRCODE = '55000', HINT = 'Make another member owner first.';
  END IF;
  UPDATE analytics.org_members m
     SET role = COALESCE(update_member.role, m.role),
         monthly_request_cap = COALESCE(update_member.monthly_request_cap,
                                        CASE WHEN update_member.remove_caps THEN NULL ELSE m.monthly_request_cap END),
         monthly_token_cap = COALESCE(update_member.monthly_token_cap,
                                      CASE WHEN update_member.remove_caps THEN NULL ELSE m.monthly_token_cap END),
         monthly_cost_cap = COALESCE(update_member.monthly_cost_cap,
                                     CASE WHEN update_member.remove_caps THEN NULL ELSE m.monthly_cost_cap END)
   WHERE m.org_id = update_member.org_id AND m.user_id = update_member.user_id;
END
$$;
COMMENT ON FUNCTION analytics.update_member(text, text, text, bigint, bigint, numeric, boolean) IS
  'Changes a member''s role and caps (NULL: unchanged; remove_caps: the caps not given become none); the last owner cannot be demoted';
REVOKE ALL ON FUNCTION analytics.update_member(text, text, text, bigint, bigint, numeric, boolean) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.update_member(text, text, text, bigint, bigint, numeric, boolean)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.update_member(text, text, text, bigint, bigint, numeric, boolean)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
