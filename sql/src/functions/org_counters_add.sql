-- The organization's part of a counter change for SQL callers (expiry,
-- corrections, rebuild): the pooled row and the member's.  Internal.
CREATE OR REPLACE FUNCTION analytics.org_counters_add(org_id text, user_id text, usage_date date,
    requests bigint DEFAULT 0, failed bigint DEFAULT 0, input_tokens bigint DEFAULT 0,
    cached_input_tokens bigint DEFAULT 0, cache_write_tokens bigint DEFAULT 0,
    output_tokens bigint DEFAULT 0, reasoning_tokens bigint DEFAULT 0, cache_hits bigint DEFAULT 0,
    cost numeric DEFAULT 0, cache_savings numeric DEFAULT 0, response_time_sum bigint DEFAULT 0,
    response_time_count bigint DEFAULT 0, pending_requests bigint DEFAULT 0,
    pending_tokens bigint DEFAULT 0, pending_cost numeric DEFAULT 0, rejected bigint DEFAULT 0)
  RETURNS void
  LANGUAGE C VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_org_counters_add_sql';
COMMENT ON FUNCTION analytics.org_counters_add(text, text, date, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, numeric, numeric, bigint, bigint, bigint, bigint, numeric, bigint) IS
  'Adds a delta to an organization''s pooled and member day counters in this backend''s slot (internal)';
REVOKE ALL ON FUNCTION analytics.org_counters_add(text, text, date, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, numeric, numeric, bigint, bigint, bigint, bigint, numeric, bigint) FROM PUBLIC;
