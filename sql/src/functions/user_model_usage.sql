-- A user's figures by provider and model over a day range, folded part plus
-- unfolded tail.
CREATE OR REPLACE FUNCTION analytics.user_model_usage(p_user_id text, d_from date, d_to date)
  RETURNS TABLE (provider text, model text, requests bigint, failed bigint, tokens_total bigint,
                 cost numeric, latency_sum bigint, latency_count bigint, last_used timestamptz)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT u.provider, u.model, sum(u.requests)::bigint, sum(u.failed)::bigint, sum(u.tokens)::bigint,
           sum(u.cost), sum(u.latency_sum)::bigint, sum(u.latency_count)::bigint, max(u.last_used)
      FROM (SELECT r.provider, r.model, r.requests, r.failed,
                   r.input_tokens + r.cached_input_tokens + r.cache_write_tokens + r.output_tokens AS tokens,
                   r.cost, r.latency_sum, r.latency_count, r.last_used
              FROM analytics.rollup_user_models r
             WHERE r.user_id = p_user_id AND r.usage_date BETWEEN d_from AND d_to
            UNION ALL
            SELECT COALESCE(e.provider, ''), e.model, 1, (e.status = 'failed')::int,
                   e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens,
                   e.cost, COALESCE(e.response_time_ms, 0), (e.response_time_ms IS NOT NULL)::int, e.occurred_at
              FROM analytics.unfolded_events(p_user_id, d_from, d_to) e) u
     GROUP BY u.provider, u.model;
  END;
COMMENT ON FUNCTION analytics.user_model_usage(text, date, date) IS
  'A user''s usage by provider and model over local days, including events not yet folded';
REVOKE ALL ON FUNCTION analytics.user_model_usage(text, date, date) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.user_model_usage(text, date, date)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
