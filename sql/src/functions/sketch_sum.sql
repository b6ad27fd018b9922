CREATE OR REPLACE FUNCTION analytics.sketch_sum(analytics.latency_sketch) RETURNS double precision
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_sum';
COMMENT ON FUNCTION analytics.sketch_sum(analytics.latency_sketch) IS 'Sum of the values';
REVOKE ALL ON FUNCTION analytics.sketch_sum(analytics.latency_sketch) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.sketch_sum(analytics.latency_sketch)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
