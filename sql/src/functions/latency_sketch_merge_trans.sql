CREATE OR REPLACE FUNCTION analytics.latency_sketch_merge_trans(internal, analytics.latency_sketch) RETURNS internal
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_merge_trans';
COMMENT ON FUNCTION analytics.latency_sketch_merge_trans(internal, analytics.latency_sketch) IS
  'Transition function of latency_sketch_merge';
REVOKE ALL ON FUNCTION analytics.latency_sketch_merge_trans(internal, analytics.latency_sketch) FROM PUBLIC;
