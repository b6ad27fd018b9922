CREATE OR REPLACE FUNCTION analytics.latency_sketch_from_bytea(bytea) RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_from_bytea';
COMMENT ON FUNCTION analytics.latency_sketch_from_bytea(bytea) IS
  'A sketch from its binary format (as sent by latency_sketch_send), validated';
REVOKE ALL ON FUNCTION analytics.latency_sketch_from_bytea(bytea) FROM PUBLIC;
