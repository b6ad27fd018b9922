/*
 * Grants prepaid credits to an organization (or, with org_id NULL, to a
 * user): amount in currency (default: the organization's, else USD),
 * usable by the invoices of billing periods ending after effective_at and
 * not after expires_at (NULL: never expires), consumed lowest priority
 * number first (0-100), then earliest expiry (billing.sql).  Returns the
 * grant_id.  Errors: no subject or two, amount not positive and finite,
 * unknown currency, priority outside 0-100, expires_at not after
 * effective_at, a bad applies_to, category or metadata 22023; an unknown
 * organization 42704; NULL amount 23502.  Admins and app backends (the
 * application records the credits a customer bought).
 */
CREATE OR REPLACE FUNCTION analytics.grant_credits(org_id text, amount numeric, currency text DEFAULT NULL,
    expires_at timestamptz DEFAULT NULL, priority integer DEFAULT 50, user_id text DEFAULT NULL,
    name text DEFAULT NULL, effective_at timestamptz DEFAULT pg_catalog.now(),
    applies_to text DEFAULT 'usage', category text DEFAULT 'paid', metadata jsonb DEFAULT '{}')
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  cur text := upper(grant_credits.currency);
  gid bigint;
BEGIN
  IF (grant_credits.org_id IS NULL) = (grant_credits.user_id IS NULL) THEN
    RAISE EXCEPTION 'give exactly one of org_id and user_id' USING ERRCODE = '22023';
  END IF;
  IF grant_credits.org_id IS NOT NULL THEN
    SELECT COALESCE(cur, o.currency) INTO cur FROM analytics.organizations o WHERE o.org_id = grant_credits.org_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'organization "%" does not exist', grant_credits.org_id USING ERRCODE = '42704';
    END IF;
  ELSIF grant_credits.user_id = '' THEN
    RAISE EXCEPTION 'user_id must not be empty' USING ERRCODE = '22023';
  END IF;
  cur := COALESCE(cur, 'USD');
  IF grant_credits.amount IS NULL OR grant_credits.effective_at IS NULL THEN
    RAISE EXCEPTION 'amount and effective_at must not be null' USING ERRCODE = '23502';
  END IF;
  IF NOT (grant_credits.amount > 0 AND grant_credits.amount < 'Infinity') THEN
    RAISE EXCEPTION 'amount must be positive and finite' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM analytics.currencies c WHERE c.currency = cur) THEN
    RAISE EXCEPTION 'unknown currency "%"', cur USING ERRCODE = '22023',
      HINT = 'The currencies are listed in analytics.currencies.';
  END IF;
  IF grant_credits.priority IS NULL OR grant_credits.priority NOT BETWEEN 0 AND 100 THEN
    RAISE EXCEPTION 'priority must be between 0 and 100' USING ERRCODE = '22023';
  END IF;
  IF grant_credits.expires_at <= grant_credits.effective_at THEN
    RAISE EXCEPTION 'expires_at must be after effective_at' USING ERRCODE = '22023';
  END IF;
  IF grant_credits.applies_to IS NULL OR grant_credits.applies_to NOT IN ('usage', 'all') THEN
    RAISE EXCEPTION 'applies_to must be usage or all' USING ERRCODE = '22023';
  END IF;
  IF grant_credits.category IS NULL OR grant_credits.category NOT IN ('paid', 'promotional') THEN
    RAISE EXCEPTION 'category must be paid or promotional' USING ERRCODE = '22023';
  END IF;
  IF grant_credits.metadata IS NULL OR jsonb_typeof(grant_credits.metadata) <> 'object' THEN
    RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = '22023';
  END IF;
  INSERT INTO analytics.credit_grants AS g (org_id, user_id, amount, currency, priority, effective_at, expires_at,
                                             applies_to, category, name, metadata)
  VALUES (grant_credits.org_id, grant_credits.user_id, grant_credits.amount, cur, grant_credits.priority,
          grant_credits.effective_at, grant_credits.expires_at, grant_credits.applies_to, grant_credits.category,
          grant_credits.name, grant_credits.metadata)
  RETURNING g.grant_id INTO gid;
  RETURN gid;
END
$$;
COMMENT ON FUNCTION analytics.grant_credits(text, numeric, text, timestamptz, integer, text, text, timestamptz, text, text, jsonb) IS
  'Grants prepaid credits (amount, currency, expiry, priority) to an organization or a user; returns the grant_id (admins and app backends)';
REVOKE ALL ON FUNCTION analytics.grant_credits(text, numeric, text, timestamptz, integer, text, text, timestamptz, text, text, jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.grant_credits(text, numeric, text, timestamptz, integer, text, text, timestamptz, text, text, jsonb)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.grant_credits(text, numeric, text, timestamptz, integer, text, text, timestamptz, text, text, jsonb)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
