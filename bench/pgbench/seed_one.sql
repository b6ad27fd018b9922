\set u 1
\set t random(100, 4000)
INSERT INTO seed.chat_events (conversation_id, user_id, model_name, model_provider, tokens_prompt, tokens_completion, cost_prompt, cost_completion, response_time_ms)
VALUES ('c' || :u, 'user_' || :u, 'gpt-4o', 'openai', :t, 300, :t * 0.0000025, 0.003, 900);
