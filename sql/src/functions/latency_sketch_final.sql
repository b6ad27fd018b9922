CREATE OR REPLACE FUNCTION analytics.latency_sketch_final(internal) RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_final';
COMMENT ON FUNCTION analytics.latency_sketch_final(internal) IS
  'Final function of the sketch aggregates';
REVOKE ALL ON FUNCTION analytics.latency_sketch_final(internal) FROM PUBLIC;
