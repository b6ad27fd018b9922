CREATE OR REPLACE FUNCTION analytics.get_user_request_history_before(user_id text, before_occurred_at timestamptz,
    before_id bigint, "limit" integer DEFAULT 50)
  RETURNS SETOF analytics.request_history_row
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM analytics.check_page("limit", 0);
  IF before_occurred_at IS NULL THEN
    RAISE EXCEPTION 'before_occurred_at must not be null' USING ERRCODE = '23502',
      HINT = 'Pass the occurred_at and id of the last row of the previous page.';
  END IF;
  RETURN QUERY
  SELECT e.id, e.occurred_at, e.model, e.provider, e.status, e.input_tokens, e.cached_input_tokens,
         e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
         e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens,
         e.cost, e.response_time_ms, e.time_to_first_token_ms, e.category, e.conversation_id,
         e.document_id, e.error_code, e.feedback_rating
    FROM analytics.chat_events e
   WHERE e.user_id = get_user_request_history_before.user_id
     AND (e.occurred_at, e.id) < (before_occurred_at, COALESCE(before_id, 9223372036854775807))
   ORDER BY e.occurred_at DESC, e.id DESC
   LIMIT get_user_request_history_before."limit";
END
$$;
COMMENT ON FUNCTION analytics.get_user_request_history_before(text, timestamptz, bigint, integer) IS
  'Keyset page of a user''s requests older than (before_occurred_at, before_id), newest first: constant time at any depth';
REVOKE ALL ON FUNCTION analytics.get_user_request_history_before(text, timestamptz, bigint, integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.get_user_request_history_before(text, timestamptz, bigint, integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
