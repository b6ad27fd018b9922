CREATE OR REPLACE FUNCTION analytics.latency_sketch_serialize(internal) RETURNS bytea
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_serialize';
COMMENT ON FUNCTION analytics.latency_sketch_serialize(internal) IS
  'Serialize function of the sketch aggregates';
REVOKE ALL ON FUNCTION analytics.latency_sketch_serialize(internal) FROM PUBLIC;
