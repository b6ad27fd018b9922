-- Quota snapshot in C (subject.c): index scans of plans and counters,
-- shared by the write path, check_quota, admission and the threshold
-- notifications.  Same signature and results as the SQL version of 1.0;
-- still internal (EXECUTE for the owner only).  price_request, also C now,
-- is in the section on model names below.
CREATE OR REPLACE FUNCTION analytics.usage_snapshot(p_user_id text, p_at timestamptz,
    OUT plan_id text, OUT plan_found boolean, OUT month_start date,
    OUT day_resets_at timestamptz, OUT month_resets_at timestamptz,
    OUT day_requests bigint, OUT month_requests bigint,
    OUT month_tokens bigint, OUT month_cost numeric,
    OUT daily_request_limit bigint, OUT monthly_request_limit bigint,
    OUT monthly_token_limit bigint, OUT monthly_cost_limit numeric,
    OUT max_tokens_per_request bigint, OUT enforcement text,
    OUT warn_thresholds numeric[], OUT today date)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE C STABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_usage_snapshot_srf';
COMMENT ON FUNCTION analytics.usage_snapshot(text, timestamptz) IS
  'Plan, local periods and used amounts of a user at a time, from the counters (internal to check_quota, admission and the threshold check)';
REVOKE ALL ON FUNCTION analytics.usage_snapshot(text, timestamptz) FROM PUBLIC;
