CREATE OR REPLACE FUNCTION analytics.correct_event(event_id bigint, reason text,
    input_tokens bigint DEFAULT NULL, cached_input_tokens bigint DEFAULT NULL,
    cache_write_tokens bigint DEFAULT NULL, output_tokens bigint DEFAULT NULL,
    reasoning_tokens bigint DEFAULT NULL, cost numeric DEFAULT NULL)
  RETURNS analytics.event_corrections
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT analytics.apply_correction(event_id, 'adjust', reason, input_tokens, cached_input_tokens,
                                          cache_write_tokens, output_tokens, reasoning_tokens, cost) $$;
COMMENT ON FUNCTION analytics.correct_event(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric) IS
  'Adjusts the token counts and/or cost of a finished event (NULL keeps a figure; tokens are priced again unless cost is given), with a reason; returns the correction';
REVOKE ALL ON FUNCTION analytics.correct_event(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.correct_event(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.correct_event(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
