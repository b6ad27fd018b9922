CREATE OR REPLACE FUNCTION analytics.apply_correction(p_event bigint, p_kind text, p_reason text,
    p_input bigint, p_cached bigint, p_write bigint, p_output bigint, p_reasoning bigint,
    p_cost numeric)
  RETURNS analytics.event_corrections
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  w      bigint;
  u      text;
  o      timestamptz;
  e      analytics.chat_events;
  n      analytics.chat_events;
  p      record;
  d      record;
  result analytics.event_corrections;
BEGIN
  IF p_event IS NULL THEN
    RAISE EXCEPTION 'event_id must not be null' USING ERRCODE = '23502';
  END IF;
  IF p_reason IS NULL THEN
    RAISE EXCEPTION 'reason must not be null' USING ERRCODE = '23502';
  END IF;
  IF btrim(p_reason) = '' THEN
    RAISE EXCEPTION 'reason must not be empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(p_reason) > 1000 THEN
    RAISE EXCEPTION 'reason is too long' USING ERRCODE = '22001',
      DETAIL = 'At most 1000 bytes.';
  END IF;
  -- The figures given, as the write path checks them.
  PERFORM analytics.check_ledger(p_input, p_cached, p_write, p_output, NULL, p_cost);

  -- Hold the fold back while we decide whether the event is folded.
  SELECT f.watermark INTO w FROM analytics.fold_state f FOR SHARE;
  -- The event's user and time first, then the row, locked, by its key: on
  -- a Citus cluster a lookup by id alone reads every shard and cannot lock
  -- (FOR UPDATE), a lookup by user is routed to the user's shard.
  SELECT c.user_id, c.occurred_at INTO u, o FROM analytics.chat_events c WHERE c.id = p_event;
  SELECT c.* INTO e FROM analytics.chat_events c
   WHERE c.user_id = u AND c.occurred_at = o AND c.id = p_event FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'event % does not exist', p_event USING ERRCODE = '42704';
  END IF;
  IF e.status NOT IN ('completed', 'failed') THEN
    RAISE EXCEPTION 'event % is % and has no usage to correct', p_event, e.status
      USING ERRCODE = '55000',
            HINT = CASE WHEN e.status = 'pending' THEN 'Settle it with analytics.complete_request().' END;
  END IF;
  IF EXISTS (SELECT 1 FROM analytics.event_corrections x
              WHERE x.user_id = e.user_id AND x.event_id = p_event AND x.kind = 'void') THEN
    RAISE EXCEPTION 'event % is voided', p_event USING ERRCODE = '55000';
  END IF;

  n := e;
  n.input_tokens := COALESCE(p_input, e.input_tokens);
  n.cached_input_tokens := COALESCE(p_cached, e.cached_input_tokens);
  n.cache_write_tokens := COALESCE(p_write, e.cache_write_tokens);
  n.output_tokens := COALESCE(p_output, e.output_tokens);
  n.reasoning_tokens := COALESCE(p_reasoning, e.reasoning_tokens);
  -- The corrected ledger as a whole (reasoning is part of output).
  PERFORM analytics.check_ledger(n.input_tokens, n.cached_input_tokens, n.cache_write_tokens,
                                 n.output_tokens, n.reasoning_tokens, NULL);
  IF p_cost IS NOT NULL THEN
    n.cost := p_cost;
    n.cost_source := 'provided';
    n.cost_input := NULL; n.cost_cached_input := NULL; n.cost_cache_write := NULL;
    n.cost_output := NULL; n.cache_savings := NULL; n.priced_model := NULL;
  ELSIF e.cost_source = 'computed' AND (n.input_tokens, n.cached_input_tokens, n.cache_write_tokens, n.output_tokens)
                                       IS DISTINCT FROM
                                       (e.input_tokens, e.cached_input_tokens, e.cache_write_tokens, e.output_tokens) THEN
    SELECT * INTO p FROM analytics.price_request(e.model, e.provider, e.occurred_at, n.input_tokens,
                                                 n.cached_input_tokens, n.cache_write_tokens, n.output_tokens);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'model "%" has no price in force at %', e.model, e.occurred_at USING ERRCODE = '42704',
        HINT = 'Pass cost, or add the price to analytics.model_prices.';
    END IF;
    n.cost_input := p.cost_input; n.cost_cached_input := p.cost_cached_input;
    n.cost_cache_write := p.cost_cache_write; n.cost_output := p.cost_output;
    n.cache_savings := p.cache_savings;
    n.cost := p.cost_input + p.cost_cached_input + p.cost_cache_write + p.cost_output;
    n.priced_model := NULLIF(p.priced_model, e.model);
  END IF;
  IF (n.input_tokens, n.cached_input_tokens, n.cache_write_tokens, n.output_tokens, n.reasoning_tokens, n.cost)
     IS NOT DISTINCT FROM
     (e.input_tokens, e.cached_input_tokens, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens, e.cost)
     AND p_kind = 'adjust' THEN
    RAISE EXCEPTION 'the correction changes nothing' USING ERRCODE = '22023';
  END IF;

  UPDATE analytics.chat_events c
     SET input_tokens = n.input_tokens, cached_input_tokens = n.cached_input_tokens,
         cache_write_tokens = n.cache_write_tokens, output_tokens = n.output_tokens,
         reasoning_tokens = n.reasoning_tokens, cost = n.cost, cost_source = n.cost_source,
         cost_input = n.cost_input, cost_cached_input = n.cost_cached_input,
         cost_cache_write = n.cost_cache_write, cost_output = n.cost_output, cache_savings = n.cache_savings,
         priced_model = n.priced_model
   WHERE c.user_id = e.user_id AND c.occurred_at = e.occurred_at AND c.id = e.id;

  SELECT n.input_tokens - e.input_tokens AS input, n.cached_input_tokens - e.cached_input_tokens AS cached,
         n.cache_write_tokens - e.cache_write_tokens AS write, n.output_tokens - e.output_tokens AS output,
         n.reasoning_tokens - e.reasoning_tokens AS reasoning,
         (n.input_tokens + n.cached_input_tokens + n.cache_write_tokens + n.output_tokens)
           - (e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens) AS total,
         n.cost - e.cost AS cost,
         COALESCE(n.cache_savings, 0) - COALESCE(e.cache_savings, 0) AS savings
    INTO d;

  -- The counters, in this transaction: quota answers follow at once.
  PERFORM analytics.counters_add(e.user_id, e.usage_date, input_tokens => d.input, cached_input_tokens => d.cached,
                                 cache_write_tokens => d.write, output_tokens => d.output,
                                 reasoning_tokens => d.reasoning, cost => d.cost, cache_savings => d.savings);
  -- A request with org_id: the organization's counters too.
  IF e.org_id IS NOT NULL THEN
    PERFORM analytics.org_counters_add(e.org_id, e.user_id, e.usage_date, input_tokens => d.input,
                                       cached_input_tokens => d.cached, cache_write_tokens => d.write,
                                       output_tokens => d.output, reasoning_tokens => d.reasoning,
                                       cost => d.cost, cache_savings => d.savings);
  END IF;

  -- Folded already: move the rollups that hold tokens and cost.  (Not yet
  -- folded: the fold reads the corrected row.)
  IF e.recorded_xid < w THEN
    PERFORM analytics.rollups_add(e.user_id, e.usage_date, e.occurred_at, e.provider, e.model, e.document_id,
                                  input_tokens => d.input, cached_input_tokens => d.cached,
                                  cache_write_tokens => d.write, output_tokens => d.output,
                                  reasoning_tokens => d.reasoning, cost => d.cost, cache_savings => d.savings,
                                  conversation_id => e.conversation_id, org_id => e.org_id);
  END IF;

  INSERT INTO analytics.event_corrections AS x (event_id, user_id, occurred_at, kind, reason, actor, before, after)
  VALUES (e.id, e.user_id, e.occurred_at, p_kind, p_reason,
          CASE WHEN current_setting('role') = 'none' THEN session_user ELSE current_setting('role')::name END,
          jsonb_build_object('input_tokens', e.input_tokens, 'cached_input_tokens', e.cached_input_tokens,
                             'cache_write_tokens', e.cache_write_tokens, 'output_tokens', e.output_tokens,
                             'reasoning_tokens', e.reasoning_tokens, 'cost', e.cost, 'cost_source', e.cost_source),
          jsonb_build_object('input_tokens', n.input_tokens, 'cached_input_tokens', n.cached_input_tokens,
                             'cache_write_tokens', n.cache_write_tokens, 'output_tokens', n.output_tokens,
                             'reasoning_tokens', n.reasoning_tokens, 'cost', n.cost, 'cost_source', n.cost_source))
  RETURNING x.* INTO result;

  -- More usage may cross a threshold: notify as recording would.
  IF d.total > 0 OR d.cost > 0 THEN
    PERFORM analytics.notify_thresholds(e.user_id);
  END IF;
  RETURN result;
END
$$;
COMMENT ON FUNCTION analytics.apply_correction(bigint, text, text, bigint, bigint, bigint, bigint, bigint, numeric) IS
  'Applies a void or an adjustment to an event, its counters and rollups, and logs it (internal)';
REVOKE ALL ON FUNCTION analytics.apply_correction(bigint, text, text, bigint, bigint, bigint, bigint, bigint, numeric) FROM PUBLIC;
