-- Adds :n events straight into chat_events (bypassing the write path, to
-- reach 10^7 rows in minutes), same distribution as load.sql (over the
-- last 60 days, or since :since when set), with a session per user and
-- hour, then rebuilds the counters and rollups of the affected days.
SELECT setseed(:seed) \gset
\if :{?since}
SELECT (:'since')::timestamptz AS t0 \gset
\else
SELECT now() - interval '60 days' AS t0 \gset
\endif
INSERT INTO analytics.chat_events (occurred_at, usage_date, user_id, model, provider, status,
    input_tokens, cached_input_tokens, output_tokens, cost, cost_source, response_time_ms,
    cache_hit, document_id, conversation_id, session_id, category, recorded_xid)
SELECT ts, (ts AT TIME ZONE 'UTC')::date, u, 'gpt-4o', 'openai', 'completed', it, ct, ot,
       round((it * 2.5 + ct * 1.25 + ot * 10) / 1000000, 10), 'computed', rt, ct > 0, d, c, u || '_' || to_char(ts, 'MMDDHH24'), cat,
       pg_current_xact_id()::text::bigint
  FROM (SELECT :'t0'::timestamptz + random() * (now() - :'t0'::timestamptz) AS ts,
               'user_' || floor(exp(random() * ln(10000)))::int AS u,
               (50 + random() * 4000)::int AS it,
               CASE WHEN random() < 0.3 THEN (random() * 2000)::int ELSE 0 END AS ct,
               (20 + random() * 800)::int AS ot,
               (80 * exp(random() * 5) * (0.5 + random()))::int AS rt,
               CASE WHEN random() < 0.5 THEN 'doc_' || floor(exp(random() * ln(2000)))::int END AS d,
               'conv_' || floor(random() * 50000)::int AS c,
               (ARRAY['search', 'chat', 'summarize'])[1 + floor(random() * 3)::int] AS cat
          FROM generate_series(1, :n)) g;
-- Counters of the affected days from the raw log, then fold the new events
-- (unless :nofold is set: bench/backfill.sh times that fold itself).
SELECT analytics.rebuild_rollups(:'t0'::date - 1, current_date + 1) \gset
\if :{?nofold}
\else
SELECT analytics.fold() \gset
\endif
-- rebuild_rollups replaced every counter row of those days: vacuum them, as
-- autovacuum would before long, so that readers do not measure the dead ones.
VACUUM ANALYZE analytics.usage_counters;
