-- The organizations' counters as the raw log has them (rebuild_rollups,
-- the 1.1 update, verify_rollups).  Internal.
CREATE OR REPLACE FUNCTION analytics.org_counters_of_log(from_date date, to_date date)
  RETURNS TABLE (org_id text, user_id text, usage_date date, requests bigint, failed bigint,
                 input_tokens bigint, cached_input_tokens bigint, cache_write_tokens bigint,
                 output_tokens bigint, reasoning_tokens bigint, cache_hits bigint, cost numeric,
                 cache_savings numeric, response_time_sum bigint, response_time_count bigint,
                 pending_requests bigint, pending_tokens bigint, pending_cost numeric, rejected bigint)
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT e.org_id, e.user_id, e.usage_date,
           count(*) FILTER (WHERE f.done),
           count(*) FILTER (WHERE e.status = 'failed'),
           COALESCE(sum(e.input_tokens) FILTER (WHERE f.done), 0)::bigint,
           COALESCE(sum(e.cached_input_tokens) FILTER (WHERE f.done), 0)::bigint,
           COALESCE(sum(e.cache_write_tokens) FILTER (WHERE f.done), 0)::bigint,
           COALESCE(sum(e.output_tokens) FILTER (WHERE f.done), 0)::bigint,
           COALESCE(sum(e.reasoning_tokens) FILTER (WHERE f.done), 0)::bigint,
           count(*) FILTER (WHERE f.done AND e.cache_hit),
           COALESCE(sum(e.cost) FILTER (WHERE f.done), 0),
           COALESCE(sum(e.cache_savings) FILTER (WHERE f.done), 0),
           COALESCE(sum(e.response_time_ms) FILTER (WHERE f.done), 0)::bigint,
           count(e.response_time_ms) FILTER (WHERE f.done),
           count(*) FILTER (WHERE e.status = 'pending'),
           COALESCE(sum(e.reserved_tokens) FILTER (WHERE e.status = 'pending'), 0)::bigint,
           COALESCE(sum(e.reserved_cost) FILTER (WHERE e.status = 'pending'), 0),
           count(*) FILTER (WHERE e.status = 'rejected')
      FROM analytics.chat_events e, LATERAL (SELECT e.status IN ('completed', 'failed') AS done) f
     WHERE e.org_id IS NOT NULL
       AND e.status IN ('completed', 'failed', 'pending', 'rejected')
       AND e.usage_date BETWEEN from_date AND to_date
     GROUP BY e.org_id, e.user_id, e.usage_date
  $$;
COMMENT ON FUNCTION analytics.org_counters_of_log(date, date) IS
  'Per organization, member and day, the counters the raw log gives for the requests with org_id between two dates (internal)';
REVOKE ALL ON FUNCTION analytics.org_counters_of_log(date, date) FROM PUBLIC;
