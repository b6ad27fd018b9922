CREATE TABLE analytics.mv_document_popularity AS
SELECT * FROM analytics.document_popularity_source WITH NO DATA;
CREATE UNIQUE INDEX mv_document_popularity_key ON analytics.mv_document_popularity (document_id);
COMMENT ON TABLE analytics.mv_document_popularity IS
  'Per-document requests, users and cost over the last 7 and 30 UTC days (as of the last refresh_all_views(); 0 when none) and all time, average latency (all time) and the last event''s time; a refresh rewrites only the documents that changed or whose windows moved; admins and app backends only';
ALTER TABLE analytics.mv_document_popularity ENABLE ROW LEVEL SECURITY;
CREATE POLICY mv_document_popularity_read ON analytics.mv_document_popularity FOR SELECT USING (analytics.sees_all_rows());
REVOKE ALL ON analytics.mv_document_popularity FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'TABLE', 'analytics.mv_document_popularity', 'SELECT', true),
  ('admin', 'TABLE', 'analytics.mv_document_popularity', 'SELECT', true)
  ON CONFLICT DO NOTHING;
