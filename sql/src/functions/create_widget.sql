CREATE OR REPLACE FUNCTION analytics.create_widget(
    org_id text, widget_id text, type text, name text,
    allowed_domains text[] DEFAULT '{}', settings jsonb DEFAULT '{}', status text DEFAULT 'active')
  RETURNS analytics.widgets
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w analytics.widgets;
BEGIN
  IF create_widget.org_id IS NULL OR create_widget.widget_id IS NULL OR create_widget.type IS NULL
     OR create_widget.name IS NULL OR create_widget.settings IS NULL OR create_widget.status IS NULL THEN
    RAISE EXCEPTION 'org_id, widget_id, type, name, settings and status must not be NULL' USING ERRCODE = '23502';
  END IF;
  IF create_widget.widget_id = '' THEN
    RAISE EXCEPTION 'widget_id must not be empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(create_widget.widget_id) > 256 THEN
    RAISE EXCEPTION 'widget_id is longer than 256 bytes' USING ERRCODE = '22001';
  END IF;
  IF create_widget.type !~ '^[a-z][a-z0-9_-]{0,63}$' THEN
    RAISE EXCEPTION 'type must be a lower-case label (a letter, then up to 63 letters, digits, _ or -)'
      USING ERRCODE = '22023';
  END IF;
  IF create_widget.name = '' THEN
    RAISE EXCEPTION 'name must not be empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(create_widget.name) > 128 THEN
    RAISE EXCEPTION 'name is longer than 128 bytes' USING ERRCODE = '22001';
  END IF;
  IF jsonb_typeof(create_widget.settings) <> 'object' THEN
    RAISE EXCEPTION 'settings must be a JSON object' USING ERRCODE = '22023';
  END IF;
  IF create_widget.status NOT IN ('active', 'paused', 'archived') THEN
    RAISE EXCEPTION 'status must be active, paused or archived' USING ERRCODE = '22023';
  END IF;
  PERFORM 1 FROM analytics.organizations o WHERE o.org_id = create_widget.org_id FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization % does not exist', quote_literal(create_widget.org_id) USING ERRCODE = '42704';
  END IF;
  INSERT INTO analytics.widgets AS t (org_id, widget_id, type, name, allowed_domains, status, settings)
  VALUES (create_widget.org_id, create_widget.widget_id, create_widget.type, create_widget.name,
          analytics.check_widget_domains(create_widget.allowed_domains), create_widget.status, create_widget.settings)
  ON CONFLICT DO NOTHING
  RETURNING t.* INTO w;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'widget % of organization % already exists',
      quote_literal(create_widget.widget_id), quote_literal(create_widget.org_id) USING ERRCODE = '23505';
  END IF;
  RETURN w;
END
$$;
COMMENT ON FUNCTION analytics.create_widget(text, text, text, text, text[], jsonb, text) IS
  'Creates a widget of an organization (type, name, allowed domains, settings, status) and returns it; 23505 when the id is taken';
REVOKE ALL ON FUNCTION analytics.create_widget(text, text, text, text, text[], jsonb, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.create_widget(text, text, text, text, text[], jsonb, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
