CREATE OR REPLACE FUNCTION analytics.latency_sketch_out(analytics.latency_sketch) RETURNS cstring
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_out';
COMMENT ON FUNCTION analytics.latency_sketch_out(analytics.latency_sketch) IS 'Text output of latency_sketch';
REVOKE ALL ON FUNCTION analytics.latency_sketch_out(analytics.latency_sketch) FROM PUBLIC;
