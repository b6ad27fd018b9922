CREATE OR REPLACE FUNCTION analytics.get_user_token_breakdown(user_id text DEFAULT analytics.current_user_id())
  RETURNS TABLE (model text, provider text, request_count bigint, total_tokens bigint, total_cost numeric,
                 avg_tokens_per_request bigint, last_used timestamptz)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT u.model, NULLIF(u.provider, ''), u.requests, u.tokens_total, u.cost,
           (u.tokens_total / NULLIF(u.requests, 0))::bigint, u.last_used
      FROM analytics.user_model_usage(get_user_token_breakdown.user_id, '-infinity', 'infinity') u
     ORDER BY u.tokens_total DESC, u.model;
  END;
COMMENT ON FUNCTION analytics.get_user_token_breakdown(text) IS
  'A user''s all-time tokens and cost by model and provider (seed 003)';
REVOKE ALL ON FUNCTION analytics.get_user_token_breakdown(text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.get_user_token_breakdown(text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
