CREATE OR REPLACE FUNCTION analytics.void_event(event_id bigint, reason text)
  RETURNS analytics.event_corrections
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT analytics.apply_correction(event_id, 'void', reason, 0, 0, 0, 0, 0, 0) $$;
COMMENT ON FUNCTION analytics.void_event(bigint, text) IS
  'Refunds a finished event: its tokens and cost become zero everywhere (it stays counted as a request), with a reason; returns the correction';
REVOKE ALL ON FUNCTION analytics.void_event(bigint, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.void_event(bigint, text)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.void_event(bigint, text)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
