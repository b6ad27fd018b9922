CREATE OR REPLACE FUNCTION analytics.latency_sketch_deserialize(bytea, internal) RETURNS internal
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_deserialize';
COMMENT ON FUNCTION analytics.latency_sketch_deserialize(bytea, internal) IS
  'Deserialize function of the sketch aggregates';
REVOKE ALL ON FUNCTION analytics.latency_sketch_deserialize(bytea, internal) FROM PUBLIC;
