-- The same over local months, from the monthly rollups (one row a month).
CREATE OR REPLACE FUNCTION analytics.user_months_lengths(p_user_id text, m_from date, m_to date)
  RETURNS TABLE (avg_query_length integer, avg_response_length integer)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    WITH r AS (SELECT sum(x.query_length_sum) AS qs, sum(x.query_length_count) AS qc,
                      sum(x.response_length_sum) AS rs, sum(x.response_length_count) AS rc
                 FROM analytics.rollup_user_monthly x
                WHERE x.user_id = p_user_id AND x.month BETWEEN m_from AND m_to),
         t AS (SELECT sum(e.user_query_length) AS qs, count(e.user_query_length) AS qc,
                      sum(e.ai_response_length) AS rs, count(e.ai_response_length) AS rc
                 FROM analytics.unfolded_events(p_user_id, m_from,
                                                (m_to + interval '1 month - 1 day')::date) e)
    SELECT round((COALESCE(r.qs, 0) + COALESCE(t.qs, 0)) / NULLIF(COALESCE(r.qc, 0) + t.qc, 0))::integer,
           round((COALESCE(r.rs, 0) + COALESCE(t.rs, 0)) / NULLIF(COALESCE(r.rc, 0) + t.rc, 0))::integer
      FROM r, t;
  END;
COMMENT ON FUNCTION analytics.user_months_lengths(text, date, date) IS
  'A user''s average query and response lengths over local months (first days m_from..m_to; NULL when none is known): monthly rollups plus the unfolded tail';
REVOKE ALL ON FUNCTION analytics.user_months_lengths(text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_months_lengths(text, date, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
