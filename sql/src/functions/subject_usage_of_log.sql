-- subject_usage as the raw log has it (verify_invoices).  Internal.
CREATE OR REPLACE FUNCTION analytics.subject_usage_of_log(org_id text, user_id text, from_date date, to_date date)
  RETURNS jsonb
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT e.u || a.u
      FROM (SELECT pg_catalog.jsonb_build_object(
                     'requests', count(*),
                     'successful_requests', count(*) FILTER (WHERE c.status = 'completed'),
                     'tokens', COALESCE(sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens), 0),
                     'input_tokens', COALESCE(sum(c.input_tokens), 0),
                     'cached_input_tokens', COALESCE(sum(c.cached_input_tokens), 0),
                     'cache_write_tokens', COALESCE(sum(c.cache_write_tokens), 0),
                     'output_tokens', COALESCE(sum(c.output_tokens), 0),
                     'reasoning_tokens', COALESCE(sum(c.reasoning_tokens), 0),
                     'cost', COALESCE(sum(c.cost), 0),
                     'active_days', count(DISTINCT c.usage_date),
                     'active_members', count(DISTINCT c.user_id)) AS u
              FROM analytics.chat_events c
             WHERE c.status IN ('completed', 'failed')
               AND c.usage_date >= subject_usage_of_log.from_date AND c.usage_date < subject_usage_of_log.to_date
               AND CASE WHEN subject_usage_of_log.org_id IS NOT NULL THEN c.org_id = subject_usage_of_log.org_id
                        ELSE c.user_id = subject_usage_of_log.user_id AND c.org_id IS NULL END) e,
           (SELECT pg_catalog.jsonb_build_object(
                     'api_requests', count(*),
                     'billable_units', COALESCE(sum(r.billable_units), 0),
                     'widget_impressions', COALESCE(sum(r.billable_units) FILTER (WHERE r.widget_id IS NOT NULL), 0)) AS u
              FROM analytics.api_requests r
             WHERE r.org_id = subject_usage_of_log.org_id
               AND r.occurred_at >= subject_usage_of_log.from_date::timestamp AT TIME ZONE 'UTC'
               AND r.occurred_at < subject_usage_of_log.to_date::timestamp AT TIME ZONE 'UTC') a
  $$;
COMMENT ON FUNCTION analytics.subject_usage_of_log(text, text, date, date) IS
  'subject_usage computed from the raw log (chat_events as corrected, api_requests over the UTC days of the same dates), for verify_invoices (internal)';
REVOKE ALL ON FUNCTION analytics.subject_usage_of_log(text, text, date, date) FROM PUBLIC;
