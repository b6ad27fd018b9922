-- What a billing subject used over local days [from_date, to_date), from the
-- counters and the API rollups: the quantities meters read.  Internal.
CREATE OR REPLACE FUNCTION analytics.subject_usage(org_id text, user_id text, from_date date, to_date date)
  RETURNS jsonb
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN (
    -- An organization: its pooled counters (user_id ''), its members'
    -- rows for distinct members, its API rollups over the UTC days of the
    -- same dates.
    SELECT pg_catalog.jsonb_build_object(
             'requests', COALESCE(sum(d.requests), 0),
             'successful_requests', COALESCE(sum(d.requests - d.failed), 0),
             'tokens', COALESCE(sum(d.input_tokens + d.cached_input_tokens + d.cache_write_tokens + d.output_tokens), 0),
             'input_tokens', COALESCE(sum(d.input_tokens), 0),
             'cached_input_tokens', COALESCE(sum(d.cached_input_tokens), 0),
             'cache_write_tokens', COALESCE(sum(d.cache_write_tokens), 0),
             'output_tokens', COALESCE(sum(d.output_tokens), 0),
             'reasoning_tokens', COALESCE(sum(d.reasoning_tokens), 0),
             'cost', COALESCE(sum(d.cost), 0),
             'active_days', count(*) FILTER (WHERE d.requests > 0),
             'active_members',
               (SELECT count(*) FROM (SELECT m.user_id FROM analytics.org_usage_counters m
                                        WHERE m.org_id = subject_usage.org_id AND m.user_id <> ''
                                          AND m.usage_date >= subject_usage.from_date
                                          AND m.usage_date < subject_usage.to_date
                                        GROUP BY m.user_id HAVING sum(m.requests) > 0) a),
             'api_requests',
               (SELECT COALESCE(sum(a.requests), 0) FROM analytics.rollup_api_daily a
                 WHERE a.org_id = subject_usage.org_id
                   AND a.usage_date >= subject_usage.from_date AND a.usage_date < subject_usage.to_date),
             'billable_units',
               (SELECT COALESCE(sum(a.billable_units), 0) FROM analytics.rollup_api_daily a
                 WHERE a.org_id = subject_usage.org_id
                   AND a.usage_date >= subject_usage.from_date AND a.usage_date < subject_usage.to_date),
             'widget_impressions',
               (SELECT COALESCE(sum(w.billable_units), 0) FROM analytics.rollup_widget_daily w
                 WHERE w.org_id = subject_usage.org_id
                   AND w.usage_date >= subject_usage.from_date AND w.usage_date < subject_usage.to_date))
      FROM (SELECT c.usage_date, sum(c.requests) AS requests, sum(c.failed) AS failed,
                   sum(c.input_tokens) AS input_tokens, sum(c.cached_input_tokens) AS cached_input_tokens,
                   sum(c.cache_write_tokens) AS cache_write_tokens, sum(c.output_tokens) AS output_tokens,
                   sum(c.reasoning_tokens) AS reasoning_tokens, sum(c.cost) AS cost
              FROM analytics.org_usage_counters c
             WHERE c.org_id = subject_usage.org_id AND c.user_id = ''
               AND c.usage_date >= subject_usage.from_date AND c.usage_date < subject_usage.to_date
             GROUP BY c.usage_date) d
    HAVING subject_usage.org_id IS NOT NULL
    UNION ALL
    -- A user: the user's counters less the requests made in organizations
    -- (their member rows, on the same days), as the user's quota counts.
    SELECT pg_catalog.jsonb_build_object(
             'requests', COALESCE(sum(d.requests), 0),
             'successful_requests', COALESCE(sum(d.requests - d.failed), 0),
             'tokens', COALESCE(sum(d.input_tokens + d.cached_input_tokens + d.cache_write_tokens + d.output_tokens), 0),
             'input_tokens', COALESCE(sum(d.input_tokens), 0),
             'cached_input_tokens', COALESCE(sum(d.cached_input_tokens), 0),
             'cache_write_tokens', COALESCE(sum(d.cache_write_tokens), 0),
             'output_tokens', COALESCE(sum(d.output_tokens), 0),
             'reasoning_tokens', COALESCE(sum(d.reasoning_tokens), 0),
             'cost', COALESCE(sum(d.cost), 0),
             'active_days', count(*) FILTER (WHERE d.requests > 0),
             'active_members', CASE WHEN bool_or(d.requests > 0) THEN 1 ELSE 0 END,
             'api_requests', 0, 'billable_units', 0, 'widget_impressions', 0)
      FROM (SELECT c.usage_date, sum(c.requests) AS requests, sum(c.failed) AS failed,
                   sum(c.input_tokens) AS input_tokens, sum(c.cached_input_tokens) AS cached_input_tokens,
                   sum(c.cache_write_tokens) AS cache_write_tokens, sum(c.output_tokens) AS output_tokens,
                   sum(c.reasoning_tokens) AS reasoning_tokens, sum(c.cost) AS cost
              FROM (SELECT u.usage_date, u.requests, u.failed, u.input_tokens, u.cached_input_tokens,
                           u.cache_write_tokens, u.output_tokens, u.reasoning_tokens, u.cost
                      FROM analytics.usage_counters u
                     WHERE u.user_id = subject_usage.user_id
                       AND u.usage_date >= subject_usage.from_date AND u.usage_date < subject_usage.to_date
                    UNION ALL
                    SELECT m.usage_date, -m.requests, -m.failed, -m.input_tokens, -m.cached_input_tokens,
                           -m.cache_write_tokens, -m.output_tokens, -m.reasoning_tokens, -m.cost
                      FROM analytics.org_usage_counters m
                     WHERE m.user_id = subject_usage.user_id AND m.user_id <> ''
                       AND m.usage_date >= subject_usage.from_date AND m.usage_date < subject_usage.to_date) c
             GROUP BY c.usage_date) d
    HAVING subject_usage.org_id IS NULL
  );
END
$$;
COMMENT ON FUNCTION analytics.subject_usage(text, text, date, date) IS
  'The quantities meters read for an organization (org_id) or a user (user_id, org_id NULL) over local days [from_date, to_date): from org_usage_counters (pooled; members for active_members) and rollup_api_daily / rollup_widget_daily (UTC days of the same dates, as of the last fold), or from usage_counters less the user''s member rows (internal)';
REVOKE ALL ON FUNCTION analytics.subject_usage(text, text, date, date) FROM PUBLIC;
