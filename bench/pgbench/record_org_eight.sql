\set m random(1, 100)
\set t random(100, 4000)
SELECT analytics.record_chat_event('user_' || :m, 'gpt-4o', input_tokens => :t, output_tokens => 300, response_time_ms => 900, conversation_id => 'c' || :m, org_id => 'org_eight_' || :client_id);
