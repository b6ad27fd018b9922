CREATE OR REPLACE FUNCTION analytics.update_organization(org_id text, name text DEFAULT NULL,
    slug text DEFAULT NULL, time_zone text DEFAULT NULL, currency text DEFAULT NULL,
    tax_rate numeric DEFAULT NULL, billing_email text DEFAULT NULL, metadata jsonb DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF update_organization.org_id IS NULL THEN
    RAISE EXCEPTION 'org_id must not be null' USING ERRCODE = '23502';
  END IF;
  PERFORM analytics.check_org_fields(update_organization.name, update_organization.slug,
    update_organization.time_zone, update_organization.currency, update_organization.tax_rate,
    update_organization.billing_email, update_organization.metadata);
  PERFORM 1 FROM analytics.organizations o WHERE o.org_id = update_organization.org_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization "%" does not exist', update_organization.org_id USING ERRCODE = '42704';
  END IF;
  IF EXISTS (SELECT 1 FROM analytics.organizations o
              WHERE o.slug = update_organization.slug AND o.org_id <> update_organization.org_id) THEN
    RAISE EXCEPTION 'slug "%" is taken by another organization', update_organization.slug USING ERRCODE = '23505',
      CONSTRAINT = 'organizations_slug_key';
  END IF;
  BEGIN
    UPDATE analytics.organizations o
       SET name = COALESCE(update_organization.name, o.name),
           slug = COALESCE(update_organization.slug, o.slug),
           time_zone = COALESCE(update_organization.time_zone, o.time_zone),
           currency = COALESCE(update_organization.currency, o.currency),
           tax_rate = COALESCE(update_organization.tax_rate, o.tax_rate),
           billing_email = CASE WHEN update_organization.billing_email IS NULL THEN o.billing_email
                                ELSE NULLIF(update_organization.billing_email, '') END,
           metadata = COALESCE(update_organization.metadata, o.metadata),
           updated_at = now()
     WHERE o.org_id = update_organization.org_id;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'slug "%" is taken by another organization', update_organization.slug USING ERRCODE = '23505';
  END;
END
$$;
COMMENT ON FUNCTION analytics.update_organization(text, text, text, text, text, numeric, text, jsonb) IS
  'Changes the given fields of an organization (NULL: unchanged; billing_email '''': none); a new time zone moves the day and month buckets of its later requests';
REVOKE ALL ON FUNCTION analytics.update_organization(text, text, text, text, text, numeric, text, jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.update_organization(text, text, text, text, text, numeric, text, jsonb)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.update_organization(text, text, text, text, text, numeric, text, jsonb)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
