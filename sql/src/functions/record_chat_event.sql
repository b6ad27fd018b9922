CREATE OR REPLACE FUNCTION analytics.record_chat_event(
    user_id                text,
    model                  text,
    provider               text             DEFAULT NULL,
    input_tokens           bigint           DEFAULT 0,
    cached_input_tokens    bigint           DEFAULT 0,
    cache_write_tokens     bigint           DEFAULT 0,
    output_tokens          bigint           DEFAULT 0,
    reasoning_tokens       bigint           DEFAULT 0,
    cost                   analytics.amount DEFAULT NULL,
    response_time_ms       double precision DEFAULT NULL,
    time_to_first_token_ms double precision DEFAULT NULL,
    status                 text             DEFAULT 'completed',
    error_code             text             DEFAULT NULL,
    error_message          text             DEFAULT NULL,
    request_id             text             DEFAULT NULL,
    occurred_at            timestamptz      DEFAULT NULL,
    org_id                 text             DEFAULT NULL,
    conversation_id        text             DEFAULT NULL,
    message_id             text             DEFAULT NULL,
    document_id            text             DEFAULT NULL,
    session_id             text             DEFAULT NULL,
    request_type           text             DEFAULT NULL,
    category               text             DEFAULT NULL,
    query_intent           text             DEFAULT NULL,
    cache_hit              boolean          DEFAULT NULL,
    sections_referenced    text[]           DEFAULT NULL,
    intermediate_steps     bigint           DEFAULT NULL,
    metadata               jsonb            DEFAULT NULL,
    model_version          text             DEFAULT NULL,
    user_query_length      bigint           DEFAULT NULL,
    ai_response_length     bigint           DEFAULT NULL,
    complexity             text             DEFAULT NULL,
    ip_address             inet             DEFAULT NULL,
    user_agent             text             DEFAULT NULL)
  RETURNS bigint
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_record_chat_event';
COMMENT ON FUNCTION analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb, text, bigint, bigint, text, inet, text) IS
  'Records a finished LLM request (completed or failed): validates, prices, logs and counts it in one step; idempotent on (user_id, request_id); returns the event id';
REVOKE ALL ON FUNCTION analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb, text, bigint, bigint, text, inet, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb, text, bigint, bigint, text, inet, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
