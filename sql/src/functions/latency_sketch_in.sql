CREATE OR REPLACE FUNCTION analytics.latency_sketch_in(cstring) RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_in';
COMMENT ON FUNCTION analytics.latency_sketch_in(cstring) IS 'Text input of latency_sketch';
REVOKE ALL ON FUNCTION analytics.latency_sketch_in(cstring) FROM PUBLIC;
