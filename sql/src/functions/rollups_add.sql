-- The one change of folded rollups for a change of one folded event
-- (corrections, feedback): every rollup that holds the figure moves by its
-- delta; a rollup none of whose figures change is not written.  The fold
-- and the verifier compute rollups from the log, on purpose separately.
-- Internal.
CREATE OR REPLACE FUNCTION analytics.rollups_add(user_id text, usage_date date, occurred_at timestamptz,
    provider text, model text, document_id text,
    input_tokens bigint DEFAULT 0, cached_input_tokens bigint DEFAULT 0,
    cache_write_tokens bigint DEFAULT 0, output_tokens bigint DEFAULT 0,
    reasoning_tokens bigint DEFAULT 0, cost numeric DEFAULT 0, cache_savings numeric DEFAULT 0,
    feedback_sum bigint DEFAULT 0, feedback_count bigint DEFAULT 0, conversation_id text DEFAULT NULL,
    org_id text DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  utc_day date := (rollups_add.occurred_at AT TIME ZONE 'UTC')::date;
  prov    text := COALESCE(rollups_add.provider, '');
  total   bigint := rollups_add.input_tokens + rollups_add.cached_input_tokens
                    + rollups_add.cache_write_tokens + rollups_add.output_tokens;
  tokens  boolean := total <> 0 OR rollups_add.reasoning_tokens <> 0 OR rollups_add.cost <> 0
                     OR rollups_add.cache_savings <> 0 OR rollups_add.cached_input_tokens <> 0
                     OR rollups_add.input_tokens <> 0 OR rollups_add.output_tokens <> 0
                     OR rollups_add.cache_write_tokens <> 0;
  rating  boolean := rollups_add.feedback_sum <> 0 OR rollups_add.feedback_count <> 0;
  pos     integer;
BEGIN
  IF rating THEN
    UPDATE analytics.rollup_user_daily r
       SET feedback_sum = r.feedback_sum + rollups_add.feedback_sum,
           feedback_count = r.feedback_count + rollups_add.feedback_count
     WHERE r.user_id = rollups_add.user_id AND r.usage_date = rollups_add.usage_date;
    UPDATE analytics.rollup_user_monthly r
       SET feedback_sum = r.feedback_sum + rollups_add.feedback_sum,
           feedback_count = r.feedback_count + rollups_add.feedback_count
     WHERE r.user_id = rollups_add.user_id
       AND r.month = date_trunc('month', rollups_add.usage_date::timestamp)::date;
    IF rollups_add.org_id IS NOT NULL THEN
      UPDATE analytics.rollup_org_daily r
         SET feedback_sum = r.feedback_sum + rollups_add.feedback_sum,
             feedback_count = r.feedback_count + rollups_add.feedback_count
       WHERE r.org_id = rollups_add.org_id AND r.usage_date = rollups_add.usage_date;
    END IF;
  END IF;
  IF tokens THEN
    UPDATE analytics.rollup_user_monthly r
       SET tokens_total = r.tokens_total + total,
           cached_input_tokens = r.cached_input_tokens + rollups_add.cached_input_tokens,
           cost = r.cost + rollups_add.cost, cache_savings = r.cache_savings + rollups_add.cache_savings
     WHERE r.user_id = rollups_add.user_id
       AND r.month = date_trunc('month', rollups_add.usage_date::timestamp)::date;
    UPDATE analytics.rollup_user_models r
       SET input_tokens = r.input_tokens + rollups_add.input_tokens,
           cached_input_tokens = r.cached_input_tokens + rollups_add.cached_input_tokens,
           cache_write_tokens = r.cache_write_tokens + rollups_add.cache_write_tokens,
           output_tokens = r.output_tokens + rollups_add.output_tokens,
           reasoning_tokens = r.reasoning_tokens + rollups_add.reasoning_tokens,
           cost = r.cost + rollups_add.cost
     WHERE r.user_id = rollups_add.user_id AND r.usage_date = rollups_add.usage_date
       AND r.provider = prov AND r.model = rollups_add.model;
    IF rollups_add.conversation_id IS NOT NULL THEN
      SELECT array_position(r.conversation_ids, rollups_add.conversation_id) INTO pos
        FROM analytics.rollup_conversations r
       WHERE r.user_id = rollups_add.user_id AND r.usage_date = rollups_add.usage_date;
      IF pos IS NOT NULL THEN
        UPDATE analytics.rollup_conversations r
           SET tokens_total[pos] = r.tokens_total[pos] + total, cost[pos] = r.cost[pos] + rollups_add.cost
         WHERE r.user_id = rollups_add.user_id AND r.usage_date = rollups_add.usage_date;
      END IF;
    END IF;
  END IF;
  IF tokens OR rating THEN
    UPDATE analytics.rollup_system_models r
       SET tokens_total = r.tokens_total + total,
           cached_input_tokens = r.cached_input_tokens + rollups_add.cached_input_tokens,
           cost = r.cost + rollups_add.cost, cache_savings = r.cache_savings + rollups_add.cache_savings,
           feedback_sum = r.feedback_sum + rollups_add.feedback_sum,
           feedback_count = r.feedback_count + rollups_add.feedback_count
     WHERE r.usage_date = utc_day AND r.provider = prov AND r.model = rollups_add.model;
    IF rollups_add.document_id IS NOT NULL THEN
      UPDATE analytics.rollup_documents r
         SET tokens_total = r.tokens_total + total, cost = r.cost + rollups_add.cost,
             feedback_sum = r.feedback_sum + rollups_add.feedback_sum,
             feedback_count = r.feedback_count + rollups_add.feedback_count
       WHERE r.document_id = rollups_add.document_id AND r.usage_date = utc_day;
    END IF;
    -- The summaries read these rollups: the next refresh rewrites their rows.
    INSERT INTO analytics.summary_changes (user_id, month, document_id)
    VALUES (rollups_add.user_id, date_trunc('month', rollups_add.usage_date::timestamp)::date,
            rollups_add.document_id);
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.rollups_add(text, date, timestamptz, text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, numeric, bigint, bigint, text, text) IS
  'Moves the folded rollups of one event by a delta of its figures (corrections, feedback; internal)';
REVOKE ALL ON FUNCTION analytics.rollups_add(text, date, timestamptz, text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, numeric, bigint, bigint, text, text) FROM PUBLIC;
