CREATE OR REPLACE FUNCTION analytics.apply_feedback(p_event bigint, p_rating integer, p_text text,
    p_identity text, p_sees_all boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  w bigint;
  u text;
  o timestamptz;
  e record;
BEGIN
  -- Hold the fold back while we decide whether the event is folded.
  SELECT f.watermark INTO w FROM analytics.fold_state f FOR SHARE;
  -- The event's user and time first, then the row, locked, by its key: on
  -- a Citus cluster a lookup by id alone reads every shard and cannot lock
  -- (FOR UPDATE), a lookup by user is routed to the user's shard.
  SELECT c.user_id, c.occurred_at INTO u, o FROM analytics.chat_events c WHERE c.id = p_event;
  SELECT c.user_id, c.occurred_at, c.usage_date, c.status, c.recorded_xid, c.feedback_rating,
         c.document_id, c.provider, c.model, c.org_id
    INTO e
    FROM analytics.chat_events c WHERE c.user_id = u AND c.occurred_at = o AND c.id = p_event
     FOR UPDATE;
  IF NOT FOUND OR (NOT p_sees_all AND e.user_id IS DISTINCT FROM p_identity) THEN
    RAISE EXCEPTION 'event % does not exist', p_event
      USING ERRCODE = '42704', HINT = 'End users may rate only their own events.';
  END IF;
  IF e.status NOT IN ('completed', 'failed') THEN
    RAISE EXCEPTION 'event % is % and cannot be rated yet', p_event, e.status USING ERRCODE = '55000';
  END IF;
  UPDATE analytics.chat_events c
     SET feedback_rating = p_rating, feedback_text = p_text, feedback_at = now()
   WHERE c.user_id = e.user_id AND c.occurred_at = e.occurred_at AND c.id = p_event;
  IF e.recorded_xid < w THEN
    -- Already folded: move the rollups by the difference.
    PERFORM analytics.rollups_add(e.user_id, e.usage_date, e.occurred_at, e.provider, e.model, e.document_id,
                                  feedback_sum => p_rating - COALESCE(e.feedback_rating, 0),
                                  feedback_count => CASE WHEN e.feedback_rating IS NULL THEN 1 ELSE 0 END,
                                  org_id => e.org_id);
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.apply_feedback(bigint, integer, text, text, boolean) IS
  'Writes a rating and moves folded rollups by its difference (internal to record_feedback)';
REVOKE ALL ON FUNCTION analytics.apply_feedback(bigint, integer, text, text, boolean) FROM PUBLIC;
