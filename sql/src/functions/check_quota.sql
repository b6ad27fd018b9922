CREATE OR REPLACE FUNCTION analytics.check_quota(user_id text, tokens bigint DEFAULT 0,
    OUT allowed boolean, OUT status text, OUT limit_name text,
    OUT used numeric, OUT limit_value numeric, OUT remaining numeric,
    OUT usage_percent numeric, OUT resets_at timestamptz,
    OUT plan_id text, OUT month_start date)
  RETURNS record
  LANGUAGE C STABLE CALLED ON NULL INPUT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_check_quota';
COMMENT ON FUNCTION analytics.check_quota(text, bigint) IS
  'May this user make a request of this many tokens now? Answers from the counters; read-only. End users may ask only about themselves';
REVOKE ALL ON FUNCTION analytics.check_quota(text, bigint) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.check_quota(text, bigint)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
