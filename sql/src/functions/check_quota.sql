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
-- The same for a request of a model (from a provider): also the admission
-- rules of the model (the plan's allow-list in features->'models', a model
-- or provider switched off in provider_limits, provider rate limits).  A
-- NULL model answers as the two-argument form.
CREATE OR REPLACE FUNCTION analytics.check_quota(user_id text, tokens bigint, model text,
    provider text DEFAULT NULL,
    OUT allowed boolean, OUT status text, OUT limit_name text,
    OUT used numeric, OUT limit_value numeric, OUT remaining numeric,
    OUT usage_percent numeric, OUT resets_at timestamptz,
    OUT plan_id text, OUT month_start date)
  RETURNS record
  LANGUAGE C STABLE CALLED ON NULL INPUT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_check_quota';
COMMENT ON FUNCTION analytics.check_quota(text, bigint, text, text) IS
  'May this user make a request of this many tokens of this model (from this provider) now? The plan''s limits and model allow-list, models and providers switched off, provider rate limits; read-only. End users may ask only about themselves';
REVOKE ALL ON FUNCTION analytics.check_quota(text, bigint, text, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.check_quota(text, bigint, text, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
