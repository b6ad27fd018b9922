CREATE OR REPLACE FUNCTION analytics.latency_sketch_recv(internal) RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_recv';
COMMENT ON FUNCTION analytics.latency_sketch_recv(internal) IS 'Binary input of latency_sketch';
REVOKE ALL ON FUNCTION analytics.latency_sketch_recv(internal) FROM PUBLIC;
