CREATE VIEW analytics.document_popularity_source AS
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
                     max(d.last_used) AS last_accessed_at,
                     t.d AS today
                FROM analytics.rollup_documents d, today t
               GROUP BY d.document_id, t.d)
SELECT c.document_id, c.requests_7d, c.requests_30d, c.requests_all_time,
       COALESCE(u.users_7d, 0) AS users_7d, COALESCE(u.users_30d, 0) AS users_30d,
       COALESCE(u.users_all_time, 0) AS users_all_time,
       c.cost_30d, c.cost_all_time, c.avg_feedback_rating, c.last_used_date, c.cost_7d,
       c.avg_response_time_ms, c.last_accessed_at
  FROM docs c
  -- Distinct users per window: the document's day sets counted in one pass
  -- (text_set_count), never unnested; per document, so a refresh of some
  -- documents reads only theirs.
  LEFT JOIN LATERAL (
    SELECT analytics.text_set_count(x.items) FILTER (WHERE x.usage_date > c.today - 7) AS users_7d,
           analytics.text_set_count(x.items) FILTER (WHERE x.usage_date > c.today - 30) AS users_30d,
           analytics.text_set_count(x.items) AS users_all_time
      FROM analytics.rollup_distinct x
     WHERE x.scope = 'document_user' AND x.scope_id = c.document_id) u ON true;
COMMENT ON VIEW analytics.document_popularity_source IS
  'What mv_document_popularity holds, computed from the rollups with windows as of now (UTC days): refresh_all_views() copies the rows of the documents that changed (internal)';
REVOKE ALL ON analytics.document_popularity_source FROM PUBLIC;
