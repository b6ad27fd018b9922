CREATE OR REPLACE VIEW analytics.fold_lag AS SELECT * FROM analytics.fold_lag_status();
COMMENT ON VIEW analytics.fold_lag IS
  'How far the rollups lag the raw log: events not yet folded, the oldest one''s recorded_at and age, the last fold';
REVOKE ALL ON analytics.fold_lag FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'TABLE', 'analytics.fold_lag', 'SELECT', true)
  ON CONFLICT DO NOTHING;
