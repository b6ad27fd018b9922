-- The checks create_organization and update_organization share: each bad
-- field its own message (22023), NULL skipped (update: unchanged).
CREATE OR REPLACE FUNCTION analytics.check_org_fields(p_name text, p_slug text, p_time_zone text,
    p_currency text, p_tax_rate numeric, p_billing_email text, p_metadata jsonb)
  RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF p_name IS NOT NULL AND (p_name = '' OR octet_length(p_name) > 200) THEN
    RAISE EXCEPTION 'organization name must be 1 to 200 bytes' USING ERRCODE = '22023';
  END IF;
  IF p_slug IS NOT NULL AND (p_slug !~ '^[a-z0-9]+(-[a-z0-9]+)*$' OR octet_length(p_slug) > 63) THEN
    RAISE EXCEPTION 'invalid slug "%"', p_slug USING ERRCODE = '22023',
      HINT = 'A slug is up to 63 lower-case letters and digits in groups joined by single hyphens, such as acme-corp.';
  END IF;
  IF p_time_zone IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = p_time_zone) THEN
    RAISE EXCEPTION 'unknown time zone "%"', p_time_zone
      USING ERRCODE = '22023', HINT = 'Use a name from pg_timezone_names, such as Europe/Paris or UTC.';
  END IF;
  IF p_currency IS NOT NULL AND p_currency !~ '^[A-Z]{3}$' THEN
    RAISE EXCEPTION 'invalid currency "%"', p_currency USING ERRCODE = '22023',
      HINT = 'Use an ISO 4217 code in capitals, such as USD or EUR.';
  END IF;
  IF p_tax_rate IS NOT NULL AND NOT (p_tax_rate >= 0 AND p_tax_rate < 1) THEN
    RAISE EXCEPTION 'tax_rate must be a fraction in [0, 1), not %', p_tax_rate USING ERRCODE = '22023',
      HINT = '0.2 is 20 %.';
  END IF;
  IF p_billing_email IS NOT NULL AND p_billing_email <> '' AND p_billing_email !~ '^[^@\s]+@[^@\s]+$' THEN
    RAISE EXCEPTION 'invalid billing_email "%"', p_billing_email USING ERRCODE = '22023';
  END IF;
  IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
    RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = '22023';
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.check_org_fields(text, text, text, text, numeric, text, jsonb) IS
  'Checks an organization''s fields for create_organization and update_organization (internal)';
REVOKE ALL ON FUNCTION analytics.check_org_fields(text, text, text, text, numeric, text, jsonb) FROM PUBLIC;
