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
-- NULL model answers without them.  With org_id: the request in that
-- organization, against its plan (pooled over its members: limit names
-- org_daily_requests, org_monthly_requests, org_monthly_tokens,
-- org_monthly_cost) and the member's caps (member_monthly_requests,
-- member_monthly_tokens, member_monthly_cost); an unknown organization
-- (42704), a user who is not a member (42501) or a suspended organization
-- (55000) is an error, as in start_request.
CREATE OR REPLACE FUNCTION analytics.check_quota(user_id text, tokens bigint, model text,
    provider text DEFAULT NULL, org_id text DEFAULT NULL,
    OUT allowed boolean, OUT status text, OUT limit_name text,
    OUT used numeric, OUT limit_value numeric, OUT remaining numeric,
    OUT usage_percent numeric, OUT resets_at timestamptz,
    OUT plan_id text, OUT month_start date)
  RETURNS record
  LANGUAGE C STABLE CALLED ON NULL INPUT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_check_quota';
COMMENT ON FUNCTION analytics.check_quota(text, bigint, text, text, text) IS
  'May this user make a request of this many tokens of this model (from this provider; in this organization) now? The plan''s limits and model allow-list, models and providers switched off, provider rate limits; with org_id the organization''s plan and the member''s caps; read-only. End users may ask only about themselves';
REVOKE ALL ON FUNCTION analytics.check_quota(text, bigint, text, text, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.check_quota(text, bigint, text, text, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
