CREATE OR REPLACE FUNCTION analytics.start_request(
    user_id          text,
    model            text,
    estimated_tokens bigint        DEFAULT 0,
    request_id       text          DEFAULT NULL,
    provider         text          DEFAULT NULL,
    estimated_cost   analytics.amount DEFAULT NULL,
    org_id           text          DEFAULT NULL,
    conversation_id  text          DEFAULT NULL,
    message_id       text          DEFAULT NULL,
    document_id      text          DEFAULT NULL,
    session_id       text          DEFAULT NULL,
    request_type     text          DEFAULT NULL,
    category         text          DEFAULT NULL,
    query_intent     text          DEFAULT NULL,
    metadata         jsonb         DEFAULT NULL,
    model_version    text          DEFAULT NULL,
    user_query_length bigint       DEFAULT NULL,
    complexity       text          DEFAULT NULL,
    ip_address       inet          DEFAULT NULL,
    user_agent       text          DEFAULT NULL,
    OUT event_id bigint, OUT allowed boolean, OUT status text, OUT limit_name text,
    OUT remaining numeric, OUT resets_at timestamptz)
  RETURNS record
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_start_request';
COMMENT ON FUNCTION analytics.start_request(text, text, bigint, text, text, analytics.amount, text, text, text, text, text, text, text, text, jsonb, text, bigint, text, inet, text) IS
  'Admits a request and reserves its estimate against the user''s hard limits (exact under any concurrency), or rejects it; logs it as pending or rejected; idempotent on (user_id, request_id)';
REVOKE ALL ON FUNCTION analytics.start_request(text, text, bigint, text, text, analytics.amount, text, text, text, text, text, text, text, text, jsonb, text, bigint, text, inet, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.start_request(text, text, bigint, text, text, analytics.amount, text, text, text, text, text, text, text, text, jsonb, text, bigint, text, inet, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
