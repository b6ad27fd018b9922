CREATE OR REPLACE FUNCTION analytics.latency_sketch_combine(internal, internal) RETURNS internal
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_combine_states';
COMMENT ON FUNCTION analytics.latency_sketch_combine(internal, internal) IS
  'Combine function of the sketch aggregates (parallel aggregation)';
REVOKE ALL ON FUNCTION analytics.latency_sketch_combine(internal, internal) FROM PUBLIC;
