CREATE OR REPLACE FUNCTION analytics.complete_request(
    event_id               bigint           DEFAULT NULL,
    status                 text             DEFAULT 'completed',
    input_tokens           bigint           DEFAULT 0,
    cached_input_tokens    bigint           DEFAULT 0,
    cache_write_tokens     bigint           DEFAULT 0,
    output_tokens          bigint           DEFAULT 0,
    reasoning_tokens       bigint           DEFAULT 0,
    cost                   analytics.amount DEFAULT NULL,
    response_time_ms       double precision DEFAULT NULL,
    time_to_first_token_ms double precision DEFAULT NULL,
    error_code             text             DEFAULT NULL,
    error_message          text             DEFAULT NULL,
    cache_hit              boolean          DEFAULT NULL,
    user_id                text             DEFAULT NULL,
    request_id             text             DEFAULT NULL,
    model_version          text             DEFAULT NULL,
    ai_response_length     bigint           DEFAULT NULL,
    OUT event_id_out bigint, OUT status_out text, OUT cost_out numeric)
  RETURNS record
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_complete_request';
COMMENT ON FUNCTION analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, boolean, text, text, text, bigint) IS
  'Settles a start_request reservation with the actual usage (by event_id, or user_id and request_id); settling again returns the same answer';
REVOKE ALL ON FUNCTION analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, boolean, text, text, text, bigint) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, boolean, text, text, text, bigint)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
