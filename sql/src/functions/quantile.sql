CREATE OR REPLACE FUNCTION analytics.quantile(analytics.latency_sketch, double precision) RETURNS double precision
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_quantile';
COMMENT ON FUNCTION analytics.quantile(analytics.latency_sketch, double precision) IS
  'Estimated q-quantile (0 <= q <= 1), interpolated like percentile_cont, within 1 %; NULL for an empty sketch';
REVOKE ALL ON FUNCTION analytics.quantile(analytics.latency_sketch, double precision) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.quantile(analytics.latency_sketch, double precision)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
