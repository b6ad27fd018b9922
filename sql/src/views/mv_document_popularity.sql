CREATE MATERIALIZED VIEW analytics.mv_document_popularity AS
WITH today AS (SELECT (pg_catalog.now() AT TIME ZONE 'UTC')::date AS d),
     docs AS (SELECT d.document_id,
                     COALESCE(sum(d.requests) FILTER (WHERE d.usage_date > t.d - 7), 0)::bigint AS requests_7d,
                     COALESCE(sum(d.requests) FILTER (WHERE d.usage_date > t.d - 30), 0)::bigint AS requests_30d,
                     sum(d.requests)::bigint AS requests_all_time,
                     COALESCE(sum(d.cost) FILTER (WHERE d.usage_date > t.d - 30), 0) AS cost_30d,
                     sum(d.cost) AS cost_all_time,
                     round(sum(d.feedback_sum)::numeric / NULLIF(sum(d.feedback_count), 0), 2) AS avg_feedback_rating,
                     max(d.usage_date) AS last_used_date,
                     COALESCE(sum(d.cost) FILTER (WHERE d.usage_date > t.d - 7), 0) AS cost_7d,
                     round(sum(analytics.sketch_sum(d.latency))::numeric
                           / NULLIF(sum(analytics.sketch_count(d.latency)), 0))::integer AS avg_response_time_ms,
                     max(d.last_used) AS last_accessed_at
                FROM analytics.rollup_documents d, today t
               GROUP BY d.document_id, t.d),
     -- Distinct users per window: each document's day sets counted in one
     -- pass (text_set_count), never unnested.
     users AS (SELECT x.scope_id AS document_id,
                      analytics.text_set_count(x.items) FILTER (WHERE x.usage_date > t.d - 7) AS users_7d,
                      analytics.text_set_count(x.items) FILTER (WHERE x.usage_date > t.d - 30) AS users_30d,
                      analytics.text_set_count(x.items) AS users_all_time
                 FROM analytics.rollup_distinct x, today t
                WHERE x.scope = 'document_user'
                GROUP BY x.scope_id)
SELECT c.document_id, c.requests_7d, c.requests_30d, c.requests_all_time,
       COALESCE(u.users_7d, 0) AS users_7d, COALESCE(u.users_30d, 0) AS users_30d,
       COALESCE(u.users_all_time, 0) AS users_all_time,
       c.cost_30d, c.cost_all_time, c.avg_feedback_rating, c.last_used_date, c.cost_7d,
       c.avg_response_time_ms, c.last_accessed_at
  FROM docs c
  LEFT JOIN users u ON u.document_id = c.document_id
WITH NO DATA;
CREATE UNIQUE INDEX mv_document_popularity_key ON analytics.mv_document_popularity (document_id);
COMMENT ON MATERIALIZED VIEW analytics.mv_document_popularity IS
  'Per-document requests, users and cost over the last 7 and 30 UTC days (as of the refresh; 0 when none) and all time, average latency (all time) and the last event''s time; admins and app backends only';
REVOKE ALL ON analytics.mv_document_popularity FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'TABLE', 'analytics.mv_document_popularity', 'SELECT', true),
  ('admin', 'TABLE', 'analytics.mv_document_popularity', 'SELECT', true)
  ON CONFLICT DO NOTHING;
