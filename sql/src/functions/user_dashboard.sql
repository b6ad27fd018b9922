CREATE OR REPLACE FUNCTION analytics.user_dashboard(user_id text DEFAULT analytics.current_user_id())
  RETURNS jsonb
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid text := user_dashboard.user_id;
  q record;
  plan record;
  tot record;
  cur record;
  perf record;
  today date;
  ses record;
  lab record;
  tail record;
BEGIN
  IF uid IS NULL THEN
    RAISE EXCEPTION 'user_id must not be null' USING ERRCODE = '23502',
      HINT = 'Set usage_analytics.user_id or pass a user id.';
  END IF;
  SELECT * INTO q FROM analytics.check_quota(uid, 0);
  SELECT * INTO plan FROM analytics.plans p WHERE p.plan_id = q.plan_id;
  -- All time and this month, from the counters (exact, read-your-writes).
  SELECT COALESCE(sum(c.requests), 0) AS requests,
         COALESCE(sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens), 0) AS tokens,
         COALESCE(sum(c.cost), 0) AS cost,
         sum(c.response_time_sum) AS rt_sum, sum(c.response_time_count) AS rt_count,
         COALESCE(sum(c.requests) FILTER (WHERE c.usage_date >= q.month_start), 0) AS month_requests,
         COALESCE(sum(c.failed) FILTER (WHERE c.usage_date >= q.month_start), 0) AS month_failed,
         sum(c.response_time_sum) FILTER (WHERE c.usage_date >= q.month_start) AS month_rt_sum,
         sum(c.response_time_count) FILTER (WHERE c.usage_date >= q.month_start) AS month_rt_count
    INTO tot
    FROM analytics.usage_counters c WHERE c.user_id = uid;
  today := (now() AT TIME ZONE (SELECT s.time_zone FROM analytics.subject_at(uid, now()) s))::date;
  SELECT COALESCE(sum(c.requests), 0) AS today
    INTO cur
    FROM analytics.usage_counters c
   WHERE c.user_id = uid AND c.usage_date = today;
  -- This month's unfolded tail, read once: its sessions, labels, latency
  -- and ratings, added below to the rollups' (plpgsql keeps these plans).
  SELECT array_agg(e.session_id) FILTER (WHERE e.session_id IS NOT NULL) AS sessions,
         array_agg(e.session_id) FILTER (WHERE e.session_id IS NOT NULL AND e.usage_date = today) AS sessions_today,
         array_agg(e.category) FILTER (WHERE e.category IS NOT NULL) AS categories,
         array_agg(e.query_intent) FILTER (WHERE e.query_intent IS NOT NULL) AS intents,
         array_agg(e.request_type) FILTER (WHERE e.request_type IS NOT NULL) AS types,
         analytics.latency_sketch_agg(e.response_time_ms) AS latency,
         sum(e.feedback_rating) AS fb_sum, count(e.feedback_rating) AS fb_count
    INTO tail
    FROM analytics.unfolded_events(uid, q.month_start, 'infinity') e;
  -- Distinct sessions today and this month.
  SELECT analytics.text_set_count(x.items) FILTER (WHERE x.today) AS today,
         analytics.text_set_count(x.items) AS month
    INTO ses
    FROM (SELECT d.items, d.usage_date = today AS today FROM analytics.rollup_distinct d
           WHERE d.scope = 'user_session' AND d.scope_id = uid AND d.usage_date >= q.month_start
          UNION ALL
          SELECT tail.sessions_today, true
          UNION ALL
          SELECT tail.sessions, false) x;
  -- Requests by category, query_intent and request_type this month.
  SELECT COALESCE(jsonb_object_agg(l.label, l.n) FILTER (WHERE l.kind = 'category'), '{}') AS by_category,
         COALESCE(jsonb_object_agg(l.label, l.n) FILTER (WHERE l.kind = 'query_intent'), '{}') AS by_intent,
         COALESCE(jsonb_object_agg(l.label, l.n) FILTER (WHERE l.kind = 'request_type'), '{}') AS by_type
    INTO lab
    FROM (SELECT x.kind, x.label, sum(x.n)::bigint AS n
            FROM (SELECT 'category' AS kind, r.category AS label, r.requests AS n
                    FROM analytics.rollup_user_categories r
                   WHERE r.user_id = uid AND r.usage_date >= q.month_start
                  UNION ALL
                  SELECT r.kind, r.label, r.requests FROM analytics.rollup_user_labels r
                   WHERE r.user_id = uid AND r.usage_date >= q.month_start
                  UNION ALL
                  SELECT 'category', c, 1 FROM unnest(tail.categories) AS c
                  UNION ALL
                  SELECT 'query_intent', c, 1 FROM unnest(tail.intents) AS c
                  UNION ALL
                  SELECT 'request_type', c, 1 FROM unnest(tail.types) AS c) x
           GROUP BY x.kind, x.label) l;
  -- This month's latency percentiles and feedback.
  SELECT analytics.quantiles(analytics.latency_sketch_union(m.latency, tail.latency), '{0.5,0.95,0.99}') AS pct,
         COALESCE(m.feedback_sum, 0) + COALESCE(tail.fb_sum, 0) AS fb_sum,
         COALESCE(m.feedback_count, 0) + tail.fb_count AS fb_count
    INTO perf
    FROM (SELECT 1) one
    LEFT JOIN analytics.rollup_user_monthly m ON m.user_id = uid AND m.month = q.month_start;
  RETURN jsonb_build_object(
    'user', jsonb_build_object(
      'id', uid, 'plan', q.plan_id,
      'requestsUsed', tot.month_requests, 'requestsLimit', plan.monthly_request_limit),
    'metrics', jsonb_build_object(
      'totalRequests', tot.requests, 'totalTokensUsed', tot.tokens, 'totalCost', tot.cost,
      'averageResponseTime', round(tot.rt_sum::numeric / NULLIF(tot.rt_count, 0)),
      'requestsThisMonth', tot.month_requests, 'requestsToday', cur.today,
      'sessionsToday', ses.today, 'sessionsThisMonth', ses.month),
    'limits', jsonb_build_object(
      'monthlyUsed', tot.month_requests, 'monthlyLimit', plan.monthly_request_limit,
      'dailyUsed', cur.today, 'dailyLimit', plan.daily_request_limit,
      'canMakeRequest', q.allowed, 'planName', plan.name, 'status', q.status,
      'limitName', q.limit_name, 'usagePercent', q.usage_percent, 'resetsAt', q.resets_at),
    'performance', jsonb_build_object(
      'period', 'month', 'periodStart', q.month_start,
      'averageResponseTime', round(tot.month_rt_sum::numeric / NULLIF(tot.month_rt_count, 0)),
      'medianResponseTime', round(perf.pct[1]::numeric),
      'p95ResponseTime', round(perf.pct[2]::numeric),
      'p99ResponseTime', round(perf.pct[3]::numeric),
      'successRate', round(1 - tot.month_failed::numeric / NULLIF(tot.month_requests, 0), 4),
      'averageRating', round(perf.fb_sum::numeric / NULLIF(perf.fb_count, 0), 2),
      'totalRequests', tot.month_requests),
    'recentRequests', COALESCE((
      SELECT jsonb_agg(jsonb_build_object(
               'id', h.id, 'occurredAt', h.occurred_at, 'model', h.model, 'status', h.status,
               'tokens', h.tokens_total, 'cost', h.cost, 'responseTimeMs', h.response_time_ms,
               'category', h.category))
        FROM analytics.get_user_request_history(uid, 10, 0) h), '[]'),
    'requestsByCategory', lab.by_category,
    'requestsByIntent', lab.by_intent,
    'requestsByType', lab.by_type);
END
$$;
COMMENT ON FUNCTION analytics.user_dashboard(text) IS
  'A user''s dashboard (seed 001): user, metrics (all time), limits with canMakeRequest, performance (this month: latency average and percentiles, success rate, rating, requests), recentRequests, requestsByCategory, requestsByIntent and requestsByType (this month); distinct sessions today and this month in metrics';
REVOKE ALL ON FUNCTION analytics.user_dashboard(text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_dashboard(text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
