\set u random_zipfian(1, 10000, 1.1)
\set t random(100, 4000)
SELECT analytics.record_chat_event('user_' || :u, 'gpt-4o', input_tokens => :t, output_tokens => 300, response_time_ms => 900, conversation_id => 'c' || :u, org_id => 'org_' || (:u % 200 + 1));
