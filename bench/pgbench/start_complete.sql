\set u random_zipfian(1, 10000, 1.1)
SELECT event_id AS e, allowed AS a FROM analytics.start_request('user_' || :u, 'gpt-4o', 1000) \gset
\if :a
SELECT analytics.complete_request(:e, input_tokens => 800, output_tokens => 200);
\endif
