CREATE OR REPLACE FUNCTION analytics.sketch_count(analytics.latency_sketch) RETURNS bigint
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_count';
COMMENT ON FUNCTION analytics.sketch_count(analytics.latency_sketch) IS 'Number of values (exact)';
REVOKE ALL ON FUNCTION analytics.sketch_count(analytics.latency_sketch) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.sketch_count(analytics.latency_sketch)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
