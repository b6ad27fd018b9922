-- An organization's dashboard: the user_dashboard of the organization
-- subject.  Counts come from its counters (read-your-writes), percentiles
-- and ratings from rollup_org_daily (as of the last fold).  Row-level
-- security decides: an organization the caller may not read is unknown.
CREATE OR REPLACE FUNCTION analytics.org_dashboard(org_id text)
  RETURNS jsonb
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  oid_ text := org_dashboard.org_id;
  o record;
  sub record;
  plan record;
  tot record;
  perf record;
  today date;
  month_start date;
BEGIN
  IF oid_ IS NULL THEN
    RAISE EXCEPTION 'org_id must not be null' USING ERRCODE = '23502';
  END IF;
  SELECT x.org_id, x.name, x.status, x.time_zone INTO o FROM analytics.organizations x WHERE x.org_id = oid_;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization "%" does not exist', oid_ USING ERRCODE = '42704',
      HINT = 'Owners, admins, members and viewers read their organizations'' dashboards.';
  END IF;
  today := (now() AT TIME ZONE o.time_zone)::date;
  month_start := date_trunc('month', today::timestamp)::date;
  SELECT * INTO sub FROM analytics.org_subject_at(oid_, now());
  SELECT * INTO plan FROM analytics.plans p WHERE p.plan_id = sub.plan_id;
  -- The organization's totals (user_id ''), every slot.
  SELECT COALESCE(sum(c.requests), 0) AS requests,
         COALESCE(sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens), 0) AS tokens,
         COALESCE(sum(c.cost), 0) AS cost,
         sum(c.response_time_sum) AS rt_sum, sum(c.response_time_count) AS rt_count,
         COALESCE(sum(c.requests) FILTER (WHERE c.usage_date >= month_start), 0) AS month_requests,
         COALESCE(sum(c.failed) FILTER (WHERE c.usage_date >= month_start), 0) AS month_failed,
         COALESCE(sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)
                  FILTER (WHERE c.usage_date >= month_start), 0) AS month_tokens,
         COALESCE(sum(c.cost) FILTER (WHERE c.usage_date >= month_start), 0) AS month_cost,
         COALESCE(sum(c.requests) FILTER (WHERE c.usage_date = today), 0) AS today_requests
    INTO tot
    FROM analytics.org_usage_counters c WHERE c.org_id = oid_ AND c.user_id = '';
  SELECT analytics.quantiles(analytics.latency_sketch_merge(r.latency), '{0.5,0.95,0.99}') AS pct,
         sum(r.feedback_sum) AS fb_sum, sum(r.feedback_count) AS fb_count
    INTO perf
    FROM analytics.rollup_org_daily r WHERE r.org_id = oid_ AND r.usage_date >= month_start;
  RETURN jsonb_build_object(
    'organization', jsonb_build_object(
      'id', oid_, 'name', o.name, 'status', o.status, 'timeZone', o.time_zone, 'plan', sub.plan_id),
    'metrics', jsonb_build_object(
      'totalRequests', tot.requests, 'totalTokensUsed', tot.tokens, 'totalCost', tot.cost,
      'averageResponseTime', round(tot.rt_sum::numeric / NULLIF(tot.rt_count, 0)),
      'requestsThisMonth', tot.month_requests, 'requestsToday', tot.today_requests),
    'limits', jsonb_build_object(
      'planName', plan.name,
      'monthlyUsed', tot.month_requests, 'monthlyLimit', plan.monthly_request_limit,
      'dailyUsed', tot.today_requests, 'dailyLimit', plan.daily_request_limit,
      'monthlyTokensUsed', tot.month_tokens, 'monthlyTokenLimit', plan.monthly_token_limit,
      'monthlyCostUsed', tot.month_cost, 'monthlyCostLimit', plan.monthly_cost_limit),
    'performance', jsonb_build_object(
      'period', 'month', 'periodStart', month_start,
      'medianResponseTime', round(perf.pct[1]::numeric),
      'p95ResponseTime', round(perf.pct[2]::numeric),
      'p99ResponseTime', round(perf.pct[3]::numeric),
      'successRate', round(1 - tot.month_failed::numeric / NULLIF(tot.month_requests, 0), 4),
      'averageRating', round(perf.fb_sum::numeric / NULLIF(perf.fb_count, 0), 2)));
END
$$;
COMMENT ON FUNCTION analytics.org_dashboard(text) IS
  'An organization''s dashboard: organization (name, status, time zone, plan), metrics (all time; this month and today in its time zone), limits of its plan, performance this month (percentiles and rating as of the last fold); counts from its counters (read-your-writes); what row-level security lets the caller read (else 42704)';
REVOKE ALL ON FUNCTION analytics.org_dashboard(text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.org_dashboard(text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
