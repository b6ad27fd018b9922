-- A user's requests by query_intent and by request_type over local days.
CREATE OR REPLACE FUNCTION analytics.user_period_labels(p_user_id text, d_from date, d_to date)
  RETURNS TABLE (requests_by_intent jsonb, requests_by_type jsonb)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    WITH l AS (SELECT x.kind, x.label, sum(x.n)::bigint AS n
                 FROM (SELECT r.kind, r.label, r.requests AS n FROM analytics.rollup_user_labels r
                        WHERE r.user_id = p_user_id AND r.usage_date BETWEEN d_from AND d_to
                       UNION ALL
                       SELECT v.kind, v.label, 1 FROM analytics.unfolded_events(p_user_id, d_from, d_to) e,
                              LATERAL (VALUES ('query_intent', e.query_intent), ('request_type', e.request_type)) AS v(kind, label)
                        WHERE v.label IS NOT NULL) x
                GROUP BY x.kind, x.label)
    SELECT COALESCE((SELECT jsonb_object_agg(l.label, l.n) FROM l WHERE l.kind = 'query_intent'), '{}'),
           COALESCE((SELECT jsonb_object_agg(l.label, l.n) FROM l WHERE l.kind = 'request_type'), '{}');
  END;
COMMENT ON FUNCTION analytics.user_period_labels(text, date, date) IS
  'A user''s requests by query_intent and by request_type over local days (JSON objects label -> requests): rollups plus the unfolded tail';
REVOKE ALL ON FUNCTION analytics.user_period_labels(text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_period_labels(text, date, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
