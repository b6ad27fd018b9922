CREATE OR REPLACE FUNCTION analytics.latency_sketch_union(analytics.latency_sketch, analytics.latency_sketch)
  RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_union';
COMMENT ON FUNCTION analytics.latency_sketch_union(analytics.latency_sketch, analytics.latency_sketch) IS
  'The union of two sketches (NULL counts as empty)';
REVOKE ALL ON FUNCTION analytics.latency_sketch_union(analytics.latency_sketch, analytics.latency_sketch) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.latency_sketch_union(analytics.latency_sketch, analytics.latency_sketch)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
