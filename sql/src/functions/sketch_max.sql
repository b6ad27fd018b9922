CREATE OR REPLACE FUNCTION analytics.sketch_max(analytics.latency_sketch) RETURNS double precision
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_max';
COMMENT ON FUNCTION analytics.sketch_max(analytics.latency_sketch) IS 'Largest value (exact), NULL if empty';
REVOKE ALL ON FUNCTION analytics.sketch_max(analytics.latency_sketch) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.sketch_max(analytics.latency_sketch)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
