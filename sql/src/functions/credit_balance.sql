/*
 * The prepaid credit balance of an organization (or, with org_id NULL, of
 * a user) per currency at as_of, from the grants and the consumption rows
 * invoices write (credit_consumptions: consumed positive, given back by a
 * voided invoice negative).  A grant's remainder is its amount less its
 * consumption rows.  available: the remainders of the grants neither
 * voided nor expired at as_of (including grants not yet effective);
 * granted: the amounts of the grants not voided; consumed: their net
 * consumption; expired: the remainders lost to expiry; next_expiry: the
 * earliest expiry among the available grants with a remainder.
 * SECURITY INVOKER: row-level security decides (the organization's owners
 * and admins, its grant_admin roles, the user themself, app backends and
 * all-rows admins); for anyone else there are no rows.  Errors: no
 * subject or two 22023.
 */
CREATE OR REPLACE FUNCTION analytics.credit_balance(org_id text, user_id text DEFAULT NULL,
    as_of timestamptz DEFAULT pg_catalog.now())
  RETURNS TABLE (currency text, available numeric, granted numeric, consumed numeric, expired numeric,
                 grants bigint, next_expiry timestamptz)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF (credit_balance.org_id IS NULL) = (credit_balance.user_id IS NULL) THEN
    RAISE EXCEPTION 'give exactly one of org_id and user_id' USING ERRCODE = '22023';
  END IF;
  IF credit_balance.as_of IS NULL THEN
    RAISE EXCEPTION 'as_of must not be null' USING ERRCODE = '23502';
  END IF;
  RETURN QUERY
  SELECT g.currency,
         COALESCE(sum(g.amount - g.used) FILTER (WHERE g.expires_at IS NULL OR g.expires_at > credit_balance.as_of), 0),
         sum(g.amount), sum(g.used),
         COALESCE(sum(g.amount - g.used) FILTER (WHERE g.expires_at <= credit_balance.as_of), 0),
         count(*),
         min(g.expires_at) FILTER (WHERE g.expires_at > credit_balance.as_of AND g.amount > g.used)
    FROM (SELECT cg.currency, cg.amount, cg.expires_at,
                 COALESCE((SELECT sum(cc.amount) FROM analytics.credit_consumptions cc
                            WHERE cc.grant_id = cg.grant_id), 0) AS used
            FROM analytics.credit_grants cg
           WHERE (cg.voided_at IS NULL OR cg.voided_at > credit_balance.as_of)
             AND (credit_balance.org_id IS NULL OR cg.org_id = credit_balance.org_id)
             AND (credit_balance.user_id IS NULL OR (cg.user_id = credit_balance.user_id AND cg.org_id IS NULL))) g
   GROUP BY g.currency
   ORDER BY g.currency;
END
$$;
COMMENT ON FUNCTION analytics.credit_balance(text, text, timestamptz) IS
  'Prepaid credit balance of an organization (or a user) per currency: available, granted, consumed (net of give-backs), expired, grants, next expiry; exact against credit_consumptions; row-level security decides';
REVOKE ALL ON FUNCTION analytics.credit_balance(text, text, timestamptz) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.credit_balance(text, text, timestamptz)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
