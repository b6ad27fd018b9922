CREATE OR REPLACE FUNCTION analytics.get_user_request_history(user_id text DEFAULT analytics.current_user_id(),
    "limit" integer DEFAULT 50, "offset" integer DEFAULT 0)
  RETURNS SETOF analytics.request_history_row
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM analytics.check_page("limit", "offset");
  RETURN QUERY
  SELECT e.id, e.occurred_at, e.model, e.provider, e.status, e.input_tokens, e.cached_input_tokens,
         e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
         e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens,
         e.cost, e.response_time_ms, e.time_to_first_token_ms, e.category, e.conversation_id,
         e.document_id, e.error_code, e.feedback_rating
    FROM analytics.chat_events e
   WHERE e.user_id = get_user_request_history.user_id
   ORDER BY e.occurred_at DESC, e.id DESC
   LIMIT get_user_request_history."limit" OFFSET get_user_request_history."offset";
END
$$;
COMMENT ON FUNCTION analytics.get_user_request_history(text, integer, integer) IS
  'A page of a user''s requests, newest first (seed 003); for deep pages use get_user_request_history_before';
REVOKE ALL ON FUNCTION analytics.get_user_request_history(text, integer, integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.get_user_request_history(text, integer, integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
