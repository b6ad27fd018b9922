/*
 * Evaluates every enabled alert rule and writes what is reached to the
 * notifications outbox, once per rule and period.  Periods: cost_per_day
 * the user's local day (counters), system-wide the UTC day (rollups plus
 * the unfolded tail, read in one statement so the fold cannot move
 * between them); tokens_per_month the local or UTC month likewise;
 * error_rate the UTC day of the evaluation (the window slides: the failed
 * share of the finished requests that occurred in the last error_window,
 * at least min_requests of them).  Each run looks at the current and the
 * previous day or month, so a period's last minutes are judged after it
 * ended.  Exactly once: the outbox's primary key (user_id, 'alert:' ||
 * rule_id, period_start, threshold 1) with ON CONFLICT DO NOTHING; a
 * concurrent evaluation waits for the other's row and writes nothing.
 * Rules and periods are taken in one order, so two evaluations never
 * deadlock.  Then API keys that expire within 7 days (and are not
 * revoked before): one api_key_expiring row per key, for its organization
 * (used: days left).  Returns the number of rows written.
 */
CREATE OR REPLACE FUNCTION analytics.evaluate_alerts() RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r record;
  v record;
  written integer := 0;
  k integer;
  utc_today date := (now() AT TIME ZONE 'UTC')::date;
  utc_last_month date := date_trunc('month', (now() AT TIME ZONE 'UTC') - interval '1 month')::date;
BEGIN
  FOR r IN SELECT a.* FROM analytics.alert_rules a WHERE a.enabled ORDER BY a.rule_id LOOP
    FOR v IN
      -- One user's local days and months: the counters.
      SELECT c.usage_date AS period_start, sum(c.cost) AS used
        FROM analytics.usage_counters c
       WHERE r.metric = 'cost_per_day' AND r.user_id IS NOT NULL
         AND c.user_id = r.user_id AND c.usage_date >= utc_today - 2
       GROUP BY c.usage_date
      UNION ALL
      SELECT date_trunc('month', c.usage_date::timestamp)::date,
             sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)
        FROM analytics.usage_counters c
       WHERE r.metric = 'tokens_per_month' AND r.user_id IS NOT NULL
         AND c.user_id = r.user_id
         AND c.usage_date >= date_trunc('month', (utc_today - 1)::timestamp - interval '1 month')::date
       GROUP BY 1
      UNION ALL
      -- The system's UTC days and months: rollups plus the unfolded tail.
      SELECT CASE WHEN r.metric = 'cost_per_day' THEN t.d
                  ELSE date_trunc('month', t.d::timestamp)::date END,
             sum(CASE WHEN r.metric = 'cost_per_day' THEN t.cost ELSE t.tokens END)
        FROM (SELECT s.usage_date AS d, s.cost, s.tokens_total::numeric AS tokens
                FROM analytics.rollup_system_models s
               WHERE s.usage_date >= CASE WHEN r.metric = 'cost_per_day' THEN utc_today - 1 ELSE utc_last_month END
              UNION ALL
              SELECT (e.occurred_at AT TIME ZONE 'UTC')::date, e.cost,
                     e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens
                FROM analytics.chat_events e
               WHERE e.recorded_xid >= analytics.fold_watermark() AND e.status IN ('completed', 'failed')
                 AND e.occurred_at >= (CASE WHEN r.metric = 'cost_per_day' THEN utc_today - 1
                                            ELSE utc_last_month END)::timestamp AT TIME ZONE 'UTC') t
       WHERE r.metric IN ('cost_per_day', 'tokens_per_month') AND r.user_id IS NULL
       GROUP BY 1
      UNION ALL
      -- The error rate of the window, one user's or everyone's.
      SELECT utc_today, round(count(*) FILTER (WHERE e.status = 'failed')::numeric / count(*), 4)
        FROM analytics.chat_events e
       WHERE r.metric = 'error_rate' AND (r.user_id IS NULL OR e.user_id = r.user_id)
         AND e.occurred_at >= now() - r.error_window AND e.occurred_at <= now()
         AND e.status IN ('completed', 'failed')
      HAVING count(*) >= r.min_requests
       ORDER BY 1
    LOOP
      CONTINUE WHEN v.used IS NULL OR v.used < r.threshold;
      WITH n AS (
        INSERT INTO analytics.notifications AS n
          (user_id, limit_name, period_start, threshold, used, limit_value, plan_id, rule_id)
        VALUES (COALESCE(r.user_id, ''), 'alert:' || r.rule_id, v.period_start, 1, v.used, r.threshold, '', r.rule_id)
        ON CONFLICT (user_id, org_id, limit_name, period_start, threshold) DO NOTHING
        RETURNING n.*)
      SELECT count(pg_notify('usage_analytics', jsonb_build_object(
               'notification_id', n.notification_id, 'user_id', n.user_id, 'limit', n.limit_name,
               'threshold', n.threshold, 'used', n.used, 'limit_value', n.limit_value,
               'plan_id', n.plan_id, 'rule_id', n.rule_id)::text))
        INTO k FROM n;
      written := written + k;
    END LOOP;
  END LOOP;
  -- API keys expiring within 7 days: once per key (the outbox's primary
  -- key: '', 'api_key_expiring:' || key_id, the UTC day of expires_at).
  WITH n AS (
    INSERT INTO analytics.notifications AS n
      (user_id, limit_name, period_start, threshold, used, limit_value, plan_id, org_id)
    SELECT '', 'api_key_expiring:' || a.key_id, (a.expires_at AT TIME ZONE 'UTC')::date, 1,
           round(extract(epoch FROM a.expires_at - now()) / 86400, 2), 7, '', a.org_id
      FROM analytics.api_keys a
     WHERE a.expires_at > now() AND a.expires_at <= now() + interval '7 days'
       AND (a.revoked_at IS NULL OR a.revoked_at > a.expires_at)
     ORDER BY a.org_id, a.key_id
    ON CONFLICT (user_id, org_id, limit_name, period_start, threshold) DO NOTHING
    RETURNING n.*)
  SELECT count(pg_notify('usage_analytics', jsonb_build_object(
           'notification_id', n.notification_id, 'user_id', n.user_id, 'org_id', n.org_id,
           'limit', n.limit_name, 'days_left', n.used, 'period_start', n.period_start)::text))
    INTO k FROM n;
  written := written + k;

  -- Subscriptions (of users and organizations) that end within 7 days
  -- and are not followed by another: one subscription_expiring row per
  -- subject and end (period_start: the local day it ends; used: the days
  -- left; limit_value: the 7-day notice), exactly once.
  WITH n AS (
    INSERT INTO analytics.notifications AS n
      (user_id, org_id, limit_name, period_start, threshold, used, limit_value, plan_id)
    SELECT COALESCE(s.user_id, ''), COALESCE(s.org_id, ''), 'subscription_expiring',
           (s.ends_at AT TIME ZONE s.time_zone)::date, 1,
           round((extract(epoch FROM s.ends_at - now()) / 86400)::numeric, 2), 7, s.plan_id
      FROM analytics.subscriptions s
     WHERE s.ends_at > now() AND s.ends_at <= now() + interval '7 days' AND s.starts_at <= now()
       AND NOT EXISTS (SELECT 1 FROM analytics.subscriptions f
                        WHERE f.starts_at = s.ends_at
                          AND f.user_id IS NOT DISTINCT FROM s.user_id AND f.org_id IS NOT DISTINCT FROM s.org_id)
     ORDER BY s.subscription_id
    ON CONFLICT (user_id, org_id, limit_name, period_start, threshold) DO NOTHING
    RETURNING n.*)
  SELECT count(pg_notify('usage_analytics', (jsonb_build_object(
           'notification_id', n.notification_id, 'user_id', n.user_id, 'limit', n.limit_name,
           'threshold', n.threshold, 'used', n.used, 'limit_value', n.limit_value,
           'plan_id', n.plan_id, 'ends_on', n.period_start)
           || CASE WHEN n.org_id <> '' THEN jsonb_build_object('org_id', n.org_id) ELSE '{}' END)::text))
    INTO k FROM n;
  written := written + k;
  RETURN written;
END
$$;
COMMENT ON FUNCTION analytics.evaluate_alerts() IS
  'Evaluates the enabled alert rules and writes each one reached to notifications, exactly once per rule and period, api_key_expiring once per API key expiring within 7 days, and a subscription_expiring row for each subscription of a user or organization that ends within 7 days (once per subscription end), with NOTIFY usage_analytics; returns how many were written';
REVOKE ALL ON FUNCTION analytics.evaluate_alerts() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.evaluate_alerts()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
