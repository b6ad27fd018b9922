\set u 1
\set t random(100, 4000)
INSERT INTO analytics.chat_events (occurred_at, usage_date, user_id, provider, model, status, input_tokens, output_tokens, cost, cost_input, cost_cached_input, cost_cache_write, cost_output, cache_savings, cost_source, response_time_ms, conversation_id, recorded_xid)
VALUES (now(), current_date, 'user_' || :u, 'openai', 'gpt-4o', 'completed', :t, 300, :t * 0.0000025 + 0.003, :t * 0.0000025, 0, 0, 0.003, 0, 'computed', 900, 'c' || :u, 0);
