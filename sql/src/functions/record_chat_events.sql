-- The batch: JSON numbers with a fraction are latencies too (rounded).
CREATE OR REPLACE FUNCTION analytics.record_chat_events(events jsonb) RETURNS SETOF bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e     jsonb;
  i     integer := 0;
  bad   text;
  v_id  bigint;
BEGIN
  PERFORM analytics.check_batch_size(events);
  FOR e IN SELECT x FROM jsonb_array_elements(events) AS x LOOP
    i := i + 1;
    IF jsonb_typeof(e) <> 'object' THEN
      RAISE EXCEPTION 'event % is not a JSON object', i USING ERRCODE = '22023';
    END IF;
    SELECT k INTO bad FROM jsonb_object_keys(e) AS k
     WHERE k <> ALL (analytics.record_chat_event_keys()) LIMIT 1;
    IF bad IS NOT NULL THEN
      RAISE EXCEPTION 'event % has unknown key "%"', i, bad
        USING ERRCODE = '22023', HINT = 'Keys are the argument names of analytics.record_chat_event.';
    END IF;
    v_id := analytics.record_chat_event(
      user_id                => e->>'user_id',
      model                  => e->>'model',
      provider               => e->>'provider',
      input_tokens           => COALESCE((e->>'input_tokens')::bigint, 0),
      cached_input_tokens    => COALESCE((e->>'cached_input_tokens')::bigint, 0),
      cache_write_tokens     => COALESCE((e->>'cache_write_tokens')::bigint, 0),
      output_tokens          => COALESCE((e->>'output_tokens')::bigint, 0),
      reasoning_tokens       => COALESCE((e->>'reasoning_tokens')::bigint, 0),
      cost                   => (e->>'cost')::numeric,
      response_time_ms       => (e->>'response_time_ms')::double precision,
      time_to_first_token_ms => (e->>'time_to_first_token_ms')::double precision,
      status                 => COALESCE(e->>'status', 'completed'),
      error_code             => e->>'error_code',
      error_message          => e->>'error_message',
      request_id             => e->>'request_id',
      occurred_at            => (e->>'occurred_at')::timestamptz,
      org_id                 => e->>'org_id',
      conversation_id        => e->>'conversation_id',
      message_id             => e->>'message_id',
      document_id            => e->>'document_id',
      session_id             => e->>'session_id',
      request_type           => e->>'request_type',
      category               => e->>'category',
      query_intent           => e->>'query_intent',
      cache_hit              => (e->>'cache_hit')::boolean,
      sections_referenced    => CASE WHEN e ? 'sections_referenced' AND jsonb_typeof(e->'sections_referenced') = 'array'
                                     THEN ARRAY(SELECT jsonb_array_elements_text(e->'sections_referenced'))
                                     WHEN e ? 'sections_referenced' AND jsonb_typeof(e->'sections_referenced') <> 'null'
                                     THEN analytics.raise_bad_key(i, 'sections_referenced', 'an array of strings')::text[]
                                END,
      intermediate_steps     => (e->>'intermediate_steps')::bigint,
      metadata               => CASE WHEN jsonb_typeof(e->'metadata') = 'null' THEN NULL ELSE e->'metadata' END,
      model_version          => e->>'model_version',
      user_query_length      => (e->>'user_query_length')::bigint,
      ai_response_length     => (e->>'ai_response_length')::bigint,
      complexity             => e->>'complexity',
      ip_address             => (e->>'ip_address')::inet,
      user_agent             => e->>'user_agent');
    RETURN NEXT v_id;
  END LOOP;
END
$$;
COMMENT ON FUNCTION analytics.record_chat_events(jsonb) IS
  'Records a JSON array of events (keys = record_chat_event argument names) in one transaction; returns their ids in order';
REVOKE ALL ON FUNCTION analytics.record_chat_events(jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.record_chat_events(jsonb)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
