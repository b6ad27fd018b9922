-- The checks add_member and update_member share (22023; NULL skipped).
CREATE OR REPLACE FUNCTION analytics.check_member_fields(p_role text, p_request_cap bigint,
    p_token_cap bigint, p_cost_cap numeric)
  RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF p_role IS NOT NULL AND p_role NOT IN ('owner', 'admin', 'member', 'viewer') THEN
    RAISE EXCEPTION 'invalid role "%"', p_role USING ERRCODE = '22023',
      HINT = 'A role is owner, admin, member or viewer.';
  END IF;
  IF p_request_cap < 0 OR p_token_cap < 0 THEN
    RAISE EXCEPTION 'monthly_request_cap and monthly_token_cap must not be negative' USING ERRCODE = '22023';
  END IF;
  IF p_cost_cap < 0 OR p_cost_cap = 'Infinity' OR p_cost_cap = 'NaN' THEN
    RAISE EXCEPTION 'monthly_cost_cap must be a finite amount, not %', p_cost_cap USING ERRCODE = '22023';
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.check_member_fields(text, bigint, bigint, numeric) IS
  'Checks a member''s role and caps for add_member and update_member (internal)';
REVOKE ALL ON FUNCTION analytics.check_member_fields(text, bigint, bigint, numeric) FROM PUBLIC;
