CREATE OR REPLACE FUNCTION analytics.clear_payloads() RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  days   integer := analytics.setting('payload_retention_days')::integer;
  cutoff timestamptz;
  since  timestamptz;
  n      bigint;
  m      bigint;
BEGIN
  IF days = 0 THEN
    RETURN 0;
  END IF;
  cutoff := now() - make_interval(days => days);
  -- Each run clears from where the last one stopped.
  SELECT f.payloads_cleared_before INTO since FROM analytics.fold_state f FOR UPDATE;
  IF since >= cutoff THEN
    RETURN 0;
  END IF;
  UPDATE analytics.chat_events e
     SET metadata = NULL, error_message = NULL, feedback_text = NULL, ip_address = NULL, user_agent = NULL
   WHERE e.occurred_at < cutoff AND (since IS NULL OR e.occurred_at >= since)
     AND (e.metadata IS NOT NULL OR e.error_message IS NOT NULL OR e.feedback_text IS NOT NULL
          OR e.ip_address IS NOT NULL OR e.user_agent IS NOT NULL);
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE analytics.api_requests e
     SET metadata = NULL, ip_address = NULL, user_agent = NULL
   WHERE e.occurred_at < cutoff AND (since IS NULL OR e.occurred_at >= since)
     AND (e.metadata IS NOT NULL OR e.ip_address IS NOT NULL OR e.user_agent IS NOT NULL);
  GET DIAGNOSTICS m = ROW_COUNT;
  n := n + m;
  UPDATE analytics.fold_state SET payloads_cleared_before = cutoff;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.clear_payloads() IS
  'Clears metadata, error_message, feedback_text, ip_address and user_agent of events, and metadata, ip_address and user_agent of API requests, older than usage_analytics.payload_retention_days (0: never); apply_retention() calls it; returns how many events and requests it cleared';
REVOKE ALL ON FUNCTION analytics.clear_payloads() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.clear_payloads()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
