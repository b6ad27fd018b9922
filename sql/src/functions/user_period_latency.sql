-- A user's latency sketch and feedback over local days: rollups plus tail.
CREATE OR REPLACE FUNCTION analytics.user_period_latency(p_user_id text, d_from date, d_to date)
  RETURNS TABLE (latency analytics.latency_sketch, feedback_sum bigint, feedback_count bigint)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    WITH r AS (SELECT analytics.latency_sketch_merge(x.latency) AS l, sum(x.feedback_sum) AS s,
                      sum(x.feedback_count) AS c
                 FROM analytics.rollup_user_daily x
                WHERE x.user_id = p_user_id AND x.usage_date BETWEEN d_from AND d_to),
         t AS (SELECT analytics.latency_sketch_agg(e.response_time_ms) AS l, sum(e.feedback_rating) AS s,
                      count(e.feedback_rating) AS c
                 FROM analytics.unfolded_events(p_user_id, d_from, d_to) e)
    SELECT analytics.latency_sketch_union(r.l, t.l), (COALESCE(r.s, 0) + COALESCE(t.s, 0))::bigint,
           (COALESCE(r.c, 0) + t.c)::bigint
      FROM r, t;
  END;
COMMENT ON FUNCTION analytics.user_period_latency(text, date, date) IS
  'A user''s latency sketch and feedback totals over local days: rollups plus the unfolded tail';
REVOKE ALL ON FUNCTION analytics.user_period_latency(text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_period_latency(text, date, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
