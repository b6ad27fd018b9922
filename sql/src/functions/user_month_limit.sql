-- When a user's recorded usage of a local month first reached a monthly
-- limit of the plan in force, exactly, from the raw log: the month's
-- finished events in occurred_at order (id breaking ties), their running
-- totals of requests, tokens and cost, each compared with the limits of
-- the plan in force at that event (subject_at); the first event that
-- reaches one (requests, then tokens, then cost, the check order of the
-- quota) gives limit_reached_at and limit_name.  Reservations do not
-- count (past months have none; this is the recorded usage).  A month
-- whose totals (the counters) reach no limit of any plan in force during
-- it is answered from the counters alone, without reading the log.  A
-- month that starts before what retention kept is unknown (NULLs).
CREATE OR REPLACE FUNCTION analytics.user_month_limit(p_user_id text, p_month date,
    OUT limit_reached boolean, OUT limit_reached_at timestamptz, OUT limit_name text)
  RETURNS record
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  m date := date_trunc('month', p_month::timestamp)::date;
  m_end date := (date_trunc('month', p_month::timestamp) + interval '1 month')::date;
  -- Every instant a local day of the month can hold, whatever the time zone.
  lo timestamptz := (m::timestamp - interval '1 day') AT TIME ZONE 'UTC';
  hi timestamptz := (m_end::timestamp + interval '1 day') AT TIME ZONE 'UTC';
  t_requests bigint;
  t_tokens bigint;
  t_cost numeric;
BEGIN
  limit_reached := false;
  IF p_user_id IS NULL OR p_month IS NULL THEN
    RETURN;
  END IF;
  -- Retention drops whole months of the log: is this month's first local
  -- instant (in the time zone in force then) before what it kept?
  IF EXISTS (SELECT 1 FROM analytics.fold_state f,
                    analytics.subject_at(p_user_id, m::timestamp AT TIME ZONE 'UTC') s
              WHERE f.retained_from > m::timestamp AT TIME ZONE s.time_zone) THEN
    limit_reached := NULL;
    RETURN;
  END IF;
  SELECT COALESCE(sum(c.requests), 0),
         COALESCE(sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens), 0),
         COALESCE(sum(c.cost), 0)
    INTO t_requests, t_tokens, t_cost
    FROM analytics.usage_counters c
   WHERE c.user_id = p_user_id AND c.usage_date >= m AND c.usage_date < m_end;
  IF NOT EXISTS (
      SELECT 1 FROM analytics.plans p
       WHERE p.plan_id IN (SELECT s.plan_id FROM analytics.subscriptions s
                            WHERE s.user_id = p_user_id AND s.starts_at < hi
                              AND (s.ends_at IS NULL OR s.ends_at > lo)
                           UNION ALL
                           -- The default plan, unless one subscription covers the month.
                           SELECT analytics.setting('default_plan')
                            WHERE NOT EXISTS (SELECT 1 FROM analytics.subscriptions s
                                               WHERE s.user_id = p_user_id AND s.starts_at <= lo
                                                 AND (s.ends_at IS NULL OR s.ends_at >= hi)))
         AND (t_requests >= p.monthly_request_limit OR t_tokens >= p.monthly_token_limit
              OR t_cost >= p.monthly_cost_limit)) THEN
    RETURN;
  END IF;
  SELECT c.occurred_at, v.name INTO limit_reached_at, limit_name
    FROM (SELECT e.occurred_at, e.id,
                 count(*) OVER w AS requests,
                 sum(e.input_tokens::bigint + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens) OVER w AS tokens,
                 sum(e.cost) OVER w AS cost
            FROM analytics.chat_events e
           WHERE e.user_id = p_user_id AND e.occurred_at >= lo AND e.occurred_at < hi
             AND e.usage_date >= m AND e.usage_date < m_end
             AND e.status IN ('completed', 'failed')
          WINDOW w AS (ORDER BY e.occurred_at, e.id)) c
    CROSS JOIN LATERAL analytics.subject_at(p_user_id, c.occurred_at) s
    JOIN analytics.plans p ON p.plan_id = s.plan_id
    CROSS JOIN LATERAL (SELECT CASE WHEN c.requests >= p.monthly_request_limit THEN 'monthly_requests'
                                    WHEN c.tokens >= p.monthly_token_limit THEN 'monthly_tokens'
                                    WHEN c.cost >= p.monthly_cost_limit THEN 'monthly_cost' END) v(name)
   WHERE v.name IS NOT NULL
   ORDER BY c.occurred_at, c.id
   LIMIT 1;
  limit_reached := limit_name IS NOT NULL;
END
$$;
COMMENT ON FUNCTION analytics.user_month_limit(text, date) IS
  'Whether and when a user''s recorded usage of a local month first reached a monthly limit of the plan in force (exact, from the raw log; NULL before the retention horizon)';
REVOKE ALL ON FUNCTION analytics.user_month_limit(text, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_month_limit(text, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
