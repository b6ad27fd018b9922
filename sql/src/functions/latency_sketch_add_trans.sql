CREATE OR REPLACE FUNCTION analytics.latency_sketch_add_trans(internal, double precision) RETURNS internal
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_add_trans';
COMMENT ON FUNCTION analytics.latency_sketch_add_trans(internal, double precision) IS
  'Transition function of latency_sketch_agg';
REVOKE ALL ON FUNCTION analytics.latency_sketch_add_trans(internal, double precision) FROM PUBLIC;
