CREATE OR REPLACE FUNCTION analytics.latency_sketch_to_bytea(analytics.latency_sketch) RETURNS bytea
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_to_bytea';
COMMENT ON FUNCTION analytics.latency_sketch_to_bytea(analytics.latency_sketch) IS
  'The binary format of a sketch';
REVOKE ALL ON FUNCTION analytics.latency_sketch_to_bytea(analytics.latency_sketch) FROM PUBLIC;
