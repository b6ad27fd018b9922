-- Records :n events through analytics.record_chat_event, :chunk per
-- transaction, for 10,000 users with a Zipf-like (log-uniform) skew, over
-- the last 60 days (or since :since, when set), with 50,000 conversations
-- and a session per user and hour.  :seed makes runs repeatable.
SELECT setseed(:seed) \gset
\if :{?since}
SELECT (:'since')::timestamptz AS t0 \gset
\else
SELECT now() - interval '60 days' AS t0 \gset
\endif
\set chunks (:n / :chunk)
SELECT format('SELECT count(analytics.record_chat_event(
         user_id => g.u,
         model => (ARRAY[''gpt-4o'', ''gpt-4o-mini'', ''claude-sonnet-4'', ''gemini-2.0-flash''])[1 + floor(random() * 4)::int],
         input_tokens => (50 + random() * 4000)::int,
         cached_input_tokens => CASE WHEN random() < 0.3 THEN (random() * 2000)::int ELSE 0 END,
         output_tokens => (20 + random() * 800)::int,
         response_time_ms => (80 * exp(random() * 5) * (0.5 + random()))::int,
         status => CASE WHEN random() < 0.02 THEN ''failed'' ELSE ''completed'' END,
         document_id => CASE WHEN random() < 0.5 THEN ''doc_'' || floor(exp(random() * ln(2000)))::int END,
         conversation_id => ''conv_'' || floor(random() * 50000)::int,
         session_id => g.u || ''_'' || to_char(g.ts, ''MMDDHH24''),
         category => (ARRAY[''search'', ''chat'', ''summarize''])[1 + floor(random() * 3)::int],
         occurred_at => g.ts))
         FROM (SELECT ''user_'' || floor(exp(random() * ln(10000)))::int AS u,
                      %L::timestamptz + random() * (now() - %L::timestamptz) AS ts
                 FROM generate_series(1, %s)) g', :'t0', :'t0', :chunk) AS q
FROM generate_series(1, :chunks) \gexec
