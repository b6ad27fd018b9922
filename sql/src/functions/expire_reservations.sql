CREATE OR REPLACE FUNCTION analytics.expire_reservations() RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  n bigint;
  -- Taken once: Citus refuses a volatile function in a distributed UPDATE.
  at timestamptz := clock_timestamp();
BEGIN
  -- Pending requests older than usage_analytics.reservation_ttl: mark them
  -- expired and release their reservations.  A concurrent complete_request
  -- holds the row: this statement then sees it settled and skips it.
  WITH gone AS (
    UPDATE analytics.chat_events e SET status = 'expired', settled_at = now()
     WHERE e.status = 'pending'
       AND e.occurred_at < at - analytics.setting('reservation_ttl')::interval
    RETURNING e.user_id, e.org_id, e.usage_date, COALESCE(e.reserved_tokens, 0) AS t, COALESCE(e.reserved_cost, 0) AS c),
  released AS (
    SELECT g.user_id, g.org_id, g.usage_date, count(*) AS k, sum(g.t) AS t, sum(g.c) AS c
      FROM gone g GROUP BY g.user_id, g.org_id, g.usage_date)
  SELECT COALESCE(sum(r.k), 0) INTO n
    FROM released r
         CROSS JOIN LATERAL (
           SELECT analytics.counters_add(r.user_id, r.usage_date, pending_requests => -r.k,
                                         pending_tokens => -r.t, pending_cost => -r.c) AS u,
                  -- A request in an organization: its pooled and member counters too.
                  CASE WHEN r.org_id IS NOT NULL THEN
                    analytics.org_counters_add(r.org_id, r.user_id, r.usage_date, pending_requests => -r.k,
                                               pending_tokens => -r.t, pending_cost => -r.c) END AS o) AS x;
  -- Provider rate-limit windows that ended more than a day ago.
  DELETE FROM analytics.provider_counters c
   WHERE c.period_start < at - interval '2 days';
  -- API-key rate-limit hours that ended more than a day ago; refusals
  -- older than 31 days.
  DELETE FROM analytics.api_key_counters c
   WHERE c.hour_start < at - interval '25 hours';
  DELETE FROM analytics.api_key_rate_limited r
   WHERE r.period_start < at - interval '31 days';
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.expire_reservations() IS
  'Marks pending requests older than usage_analytics.reservation_ttl expired and releases their reservations; returns how many. Also deletes provider and API-key rate-limit windows that ended more than a day ago, and API-key refusals older than 31 days';
REVOKE ALL ON FUNCTION analytics.expire_reservations() FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.expire_reservations()', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
