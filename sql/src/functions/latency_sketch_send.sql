CREATE OR REPLACE FUNCTION analytics.latency_sketch_send(analytics.latency_sketch) RETURNS bytea
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_send';
COMMENT ON FUNCTION analytics.latency_sketch_send(analytics.latency_sketch) IS 'Binary output of latency_sketch';
REVOKE ALL ON FUNCTION analytics.latency_sketch_send(analytics.latency_sketch) FROM PUBLIC;
