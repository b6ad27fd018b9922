CREATE OR REPLACE FUNCTION analytics.create_organization(org_id text, name text,
    slug text DEFAULT NULL, time_zone text DEFAULT 'UTC', currency text DEFAULT 'USD',
    tax_rate numeric DEFAULT 0, billing_email text DEFAULT NULL, metadata jsonb DEFAULT '{}',
    owner_id text DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_slug text := create_organization.slug;
BEGIN
  IF create_organization.org_id IS NULL OR create_organization.org_id = '' THEN
    RAISE EXCEPTION 'org_id must not be null or empty' USING ERRCODE = '23502';
  END IF;
  IF octet_length(create_organization.org_id) > 200 THEN
    RAISE EXCEPTION 'org_id must be at most 200 bytes' USING ERRCODE = '22001';
  END IF;
  IF create_organization.name IS NULL THEN
    RAISE EXCEPTION 'name must not be null' USING ERRCODE = '23502';
  END IF;
  IF create_organization.owner_id = '' THEN
    RAISE EXCEPTION 'owner_id must not be empty' USING ERRCODE = '22023';
  END IF;
  -- Without a slug: the name in lower case, other characters as hyphens.
  IF v_slug IS NULL THEN
    v_slug := trim(BOTH '-' FROM regexp_replace(lower(create_organization.name), '[^a-z0-9]+', '-', 'g'));
    IF v_slug = '' THEN
      RAISE EXCEPTION 'cannot derive a slug from the name "%"', create_organization.name
        USING ERRCODE = '22023', HINT = 'Pass slug.';
    END IF;
  END IF;
  IF create_organization.time_zone IS NULL OR create_organization.currency IS NULL
     OR create_organization.tax_rate IS NULL OR create_organization.metadata IS NULL THEN
    RAISE EXCEPTION 'time_zone, currency, tax_rate and metadata must not be null' USING ERRCODE = '23502',
      HINT = 'Leave them out for their defaults.';
  END IF;
  PERFORM analytics.check_org_fields(create_organization.name, v_slug, create_organization.time_zone,
    create_organization.currency, create_organization.tax_rate, create_organization.billing_email,
    create_organization.metadata);
  IF EXISTS (SELECT 1 FROM analytics.organizations o WHERE o.org_id = create_organization.org_id) THEN
    RAISE EXCEPTION 'organization "%" already exists', create_organization.org_id USING ERRCODE = '23505';
  END IF;
  IF EXISTS (SELECT 1 FROM analytics.organizations o WHERE o.slug = v_slug) THEN
    RAISE EXCEPTION 'slug "%" is taken by another organization', v_slug USING ERRCODE = '23505',
      CONSTRAINT = 'organizations_slug_key';
  END IF;
  BEGIN
    INSERT INTO analytics.organizations (org_id, name, slug, time_zone, currency, tax_rate, billing_email, metadata)
    VALUES (create_organization.org_id, create_organization.name, v_slug, create_organization.time_zone,
            create_organization.currency, create_organization.tax_rate,
            NULLIF(create_organization.billing_email, ''), create_organization.metadata);
  EXCEPTION WHEN unique_violation THEN
    -- A concurrent creation of the same id or slug committed first.
    RAISE EXCEPTION 'organization "%" or slug "%" already exists', create_organization.org_id, v_slug
      USING ERRCODE = '23505';
  END;
  IF create_organization.owner_id IS NOT NULL THEN
    INSERT INTO analytics.org_members (org_id, user_id, role)
    VALUES (create_organization.org_id, create_organization.owner_id, 'owner');
  END IF;
  RETURN create_organization.org_id;
END
$$;
COMMENT ON FUNCTION analytics.create_organization(text, text, text, text, text, numeric, text, jsonb, text) IS
  'Creates an organization (slug derived from the name unless given) with owner_id as its first owner, if given; returns org_id';
REVOKE ALL ON FUNCTION analytics.create_organization(text, text, text, text, text, numeric, text, jsonb, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.create_organization(text, text, text, text, text, numeric, text, jsonb, text)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.create_organization(text, text, text, text, text, numeric, text, jsonb, text)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
