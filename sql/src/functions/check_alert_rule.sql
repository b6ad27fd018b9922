CREATE OR REPLACE FUNCTION analytics.check_alert_rule() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NEW.name = '' THEN
    RAISE EXCEPTION 'alert rule name must not be empty' USING ERRCODE = '22023';
  ELSIF octet_length(NEW.name) > 128 THEN
    RAISE EXCEPTION 'alert rule name is longer than 128 bytes' USING ERRCODE = '22001';
  ELSIF NEW.user_id = '' THEN
    RAISE EXCEPTION 'user_id must not be empty (NULL: system-wide)' USING ERRCODE = '22023';
  ELSIF octet_length(NEW.user_id) > 256 THEN
    RAISE EXCEPTION 'user_id is longer than 256 bytes' USING ERRCODE = '22001';
  ELSIF NEW.metric NOT IN ('cost_per_day', 'tokens_per_month', 'error_rate') THEN
    RAISE EXCEPTION 'unknown alert metric "%"', NEW.metric USING ERRCODE = '22023',
      HINT = 'The metrics are cost_per_day, tokens_per_month and error_rate.';
  ELSIF NEW.threshold = 'NaN' OR NEW.threshold <= 0 OR NEW.threshold >= 'Infinity' THEN
    RAISE EXCEPTION 'alert threshold must be a positive finite number' USING ERRCODE = '22023';
  ELSIF NEW.metric = 'error_rate' AND NEW.threshold > 1 THEN
    RAISE EXCEPTION 'an error_rate threshold is a share of requests, at most 1' USING ERRCODE = '22023';
  ELSIF NEW.metric = 'error_rate' AND NEW.error_window IS NULL THEN
    RAISE EXCEPTION 'an error_rate rule needs an error_window' USING ERRCODE = '22023';
  ELSIF NEW.metric <> 'error_rate' AND NEW.error_window IS NOT NULL THEN
    RAISE EXCEPTION 'error_window applies to error_rate rules only' USING ERRCODE = '22023';
  ELSIF NEW.error_window IS NOT NULL
        AND (EXTRACT(month FROM NEW.error_window) <> 0 OR EXTRACT(year FROM NEW.error_window) <> 0
             OR NEW.error_window < interval '1 minute' OR NEW.error_window > interval '1 day') THEN
    RAISE EXCEPTION 'error_window must be between 1 minute and 1 day' USING ERRCODE = '22023';
  ELSIF NEW.min_requests < 1 THEN
    RAISE EXCEPTION 'min_requests must be at least 1' USING ERRCODE = '22023';
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION analytics.check_alert_rule() IS
  'Validates an alert rule (trigger on analytics.alert_rules): 22023 for a bad metric, threshold, window or id, 22001 for a name or id too long';
REVOKE ALL ON FUNCTION analytics.check_alert_rule() FROM PUBLIC;
