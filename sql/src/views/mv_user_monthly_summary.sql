CREATE TABLE analytics.mv_user_monthly_summary AS
SELECT * FROM analytics.user_monthly_summary_source WITH NO DATA;
CREATE UNIQUE INDEX mv_user_monthly_summary_key ON analytics.mv_user_monthly_summary (user_id, month);
COMMENT ON TABLE analytics.mv_user_monthly_summary IS
  'Per-user monthly summary (seed 000), one row per user and local month with folded events, as of the last refresh_all_views(): read from rollup_user_monthly and the month''s distinct sets; a refresh rewrites only the user-months that changed; cache_hit_rate is the percentage of requests that hit the cache; read it through user_monthly_summary';
ALTER TABLE analytics.mv_user_monthly_summary ENABLE ROW LEVEL SECURITY;
CREATE POLICY mv_user_monthly_summary_read ON analytics.mv_user_monthly_summary FOR SELECT USING (analytics.sees_all_rows());
REVOKE ALL ON analytics.mv_user_monthly_summary FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'TABLE', 'analytics.mv_user_monthly_summary', 'SELECT', true)
  ON CONFLICT DO NOTHING;
