CREATE OR REPLACE FUNCTION analytics.quantiles(analytics.latency_sketch, double precision[]) RETURNS double precision[]
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_quantiles';
COMMENT ON FUNCTION analytics.quantiles(analytics.latency_sketch, double precision[]) IS
  'Estimated quantiles for an array of q';
REVOKE ALL ON FUNCTION analytics.quantiles(analytics.latency_sketch, double precision[]) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.quantiles(analytics.latency_sketch, double precision[])', 'EXECUTE')
  ON CONFLICT DO NOTHING;
