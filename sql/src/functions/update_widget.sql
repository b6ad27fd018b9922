CREATE OR REPLACE FUNCTION analytics.update_widget(
    org_id text, widget_id text, type text DEFAULT NULL, name text DEFAULT NULL,
    allowed_domains text[] DEFAULT NULL, settings jsonb DEFAULT NULL, status text DEFAULT NULL)
  RETURNS analytics.widgets
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w analytics.widgets;
BEGIN
  IF update_widget.org_id IS NULL OR update_widget.widget_id IS NULL THEN
    RAISE EXCEPTION 'org_id and widget_id must not be NULL' USING ERRCODE = '23502';
  END IF;
  IF update_widget.type !~ '^[a-z][a-z0-9_-]{0,63}$' THEN
    RAISE EXCEPTION 'type must be a lower-case label (a letter, then up to 63 letters, digits, _ or -)'
      USING ERRCODE = '22023';
  END IF;
  IF update_widget.name = '' THEN
    RAISE EXCEPTION 'name must not be empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(update_widget.name) > 128 THEN
    RAISE EXCEPTION 'name is longer than 128 bytes' USING ERRCODE = '22001';
  END IF;
  IF jsonb_typeof(update_widget.settings) <> 'object' THEN
    RAISE EXCEPTION 'settings must be a JSON object' USING ERRCODE = '22023';
  END IF;
  IF update_widget.status NOT IN ('active', 'paused', 'archived') THEN
    RAISE EXCEPTION 'status must be active, paused or archived' USING ERRCODE = '22023';
  END IF;
  SELECT t.* INTO w FROM analytics.widgets t
   WHERE t.org_id = update_widget.org_id AND t.widget_id = update_widget.widget_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'widget % of organization % does not exist',
      quote_literal(update_widget.widget_id), quote_literal(update_widget.org_id) USING ERRCODE = '42704';
  END IF;
  IF w.status = 'archived' THEN
    RAISE EXCEPTION 'widget % is archived', quote_literal(update_widget.widget_id)
      USING ERRCODE = '55000', DETAIL = 'An archived widget is final; create a new one.';
  END IF;
  UPDATE analytics.widgets t
     SET type = COALESCE(update_widget.type, t.type),
         name = COALESCE(update_widget.name, t.name),
         allowed_domains = CASE WHEN update_widget.allowed_domains IS NULL THEN t.allowed_domains
                                ELSE analytics.check_widget_domains(update_widget.allowed_domains) END,
         settings = COALESCE(update_widget.settings, t.settings),
         status = COALESCE(update_widget.status, t.status),
         updated_at = now()
   WHERE t.org_id = update_widget.org_id AND t.widget_id = update_widget.widget_id
  RETURNING t.* INTO w;
  RETURN w;
END
$$;
COMMENT ON FUNCTION analytics.update_widget(text, text, text, text, text[], jsonb, text) IS
  'Changes a widget''s type, name, allowed domains, settings or status (NULL keeps a field) and returns it; an archived widget is final (55000)';
REVOKE ALL ON FUNCTION analytics.update_widget(text, text, text, text, text[], jsonb, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.update_widget(text, text, text, text, text[], jsonb, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
