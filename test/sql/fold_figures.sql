\set ECHO none
-- Issue 13's rollup figures, each compared with the raw log: query and
-- response lengths, requests by query_intent and request_type, distinct
-- sessions, conversations, document sections and last use, and the
-- materialized views' seed columns.  The fold only folds committed
-- transactions: this file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(49);

SELECT ok(analytics.subscribe('tokyo', 'pro', '2020-01-01', 'Asia/Tokyo') > 0, 'a Tokyo user');
CREATE FUNCTION pg_temp.workload(n integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  i integer;
BEGIN
  FOR i IN 1..n LOOP
    BEGIN
      PERFORM analytics.record_chat_event(
        user_id => (ARRAY['u1', 'u2', 'u3', 'tokyo'])[1 + (random() * 3)::int],
        model => (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'])[1 + (random() * 2)::int],
        input_tokens => (random() * 4000)::int,
        cached_input_tokens => CASE WHEN random() < 0.3 THEN (random() * 2000)::int ELSE 0 END,
        output_tokens => (random() * 900)::int,
        response_time_ms => CASE WHEN random() < 0.9 THEN (50 + random() * 3000)::int END,
        status => CASE WHEN random() < 0.08 THEN 'failed' ELSE 'completed' END,
        cache_hit => random() < 0.3,
        document_id => CASE WHEN random() < 0.6 THEN 'doc' || (random() * 4)::int END,
        conversation_id => CASE WHEN random() < 0.9 THEN 'conv' || (random() * 15)::int END,
        session_id => CASE WHEN random() < 0.8 THEN 'sess' || (random() * 6)::int END,
        query_intent => (ARRAY['lookup', 'compare', 'explain', NULL])[1 + (random() * 3)::int],
        request_type => (ARRAY['chat', 'search', NULL])[1 + (random() * 2)::int],
        sections_referenced => CASE WHEN random() < 0.7 THEN
          ARRAY['s' || (random() * 8)::int, 's' || (random() * 8)::int, CASE WHEN random() < 0.2 THEN NULL ELSE 's' || (random() * 3)::int END] END,
        user_query_length => CASE WHEN random() < 0.7 THEN (random() * 500)::int END,
        ai_response_length => CASE WHEN random() < 0.6 THEN (random() * 4000)::int END,
        occurred_at => now() - CASE WHEN random() < 0.2 THEN random() * interval '50 days'
                                    ELSE random() * interval '3 hours' END,
        org_id => CASE WHEN random() < 0.3 THEN 'org' || (random() * 2)::int END);
      IF random() < 0.1 THEN
        RAISE EXCEPTION 'roll back';
      END IF;
    EXCEPTION WHEN raise_exception THEN
      NULL;
    END;
  END LOOP;
END
$$;
SELECT setseed(0.13) \gset
SELECT pg_temp.workload(400) \gset
SELECT ok(analytics.fold() > 300, 'fold a random load');
SELECT pg_temp.workload(150) \gset
SELECT ok(analytics.fold() > 100, 'fold a second batch (late events among it)');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'every rollup, the new ones too, equals the raw log');
SELECT results_eq($$SELECT org_id, usage_date, COALESCE(analytics.sketch_count(latency), 0)::int, query_length_sum, query_length_count,
                             response_length_sum, response_length_count
                        FROM analytics.rollup_org_daily ORDER BY 1, 2$$,
  $$SELECT org_id, usage_date, count(response_time_ms)::int, COALESCE(sum(user_query_length), 0)::bigint, count(user_query_length),
           COALESCE(sum(ai_response_length), 0)::bigint, count(ai_response_length)
      FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND org_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2$$,
  'rollup_org_daily: each organization''s latencies and lengths per its local day');

-- The raw log's figures, recomputed here on their own.
CREATE TEMP VIEW raw AS SELECT * FROM analytics.chat_events WHERE status IN ('completed', 'failed');

-- 1. Average query and response lengths (NULL = unknown).
SELECT set_eq($$SELECT user_id, date, avg_query_length, avg_response_length FROM analytics.user_daily_usage$$,
  $$SELECT user_id, usage_date, round(avg(user_query_length))::int AS q, round(avg(ai_response_length))::int AS r
      FROM raw GROUP BY 1, 2$$, 'user_daily_usage: average lengths per user-day');
SELECT set_eq($$SELECT user_id, month, avg_query_length, avg_response_length FROM analytics.user_monthly_usage$$,
  $$SELECT user_id, date_trunc('month', usage_date)::date, round(avg(user_query_length))::int AS q, round(avg(ai_response_length))::int AS r
      FROM raw GROUP BY 1, 2$$, 'user_monthly_usage: average lengths per user-month');
SELECT set_eq($$SELECT date, avg_query_length, avg_response_length FROM analytics.system_daily_metrics$$,
  $$SELECT (occurred_at AT TIME ZONE 'UTC')::date, round(avg(user_query_length))::int AS q, round(avg(ai_response_length))::int AS r
      FROM raw GROUP BY 1$$, 'system_daily_metrics: average lengths per UTC day');
SELECT ok((SELECT count(*) FROM analytics.user_daily_usage WHERE avg_query_length IS NULL) > 0
          AND (SELECT count(*) FROM analytics.user_daily_usage WHERE avg_query_length IS NOT NULL) > 0,
  'days without a known length show NULL, the others a figure');

-- 2. top_sections: the 5 most referenced, each event counting a section once.
SELECT set_eq($$SELECT document_id, date, top_sections FROM analytics.document_usage$$,
  $$SELECT d.document_id, d.day,
           COALESCE((SELECT jsonb_agg(jsonb_build_object('section', t.section, 'references', t.n) ORDER BY t.n DESC, t.section COLLATE "C")
                       FROM (SELECT s.section, count(DISTINCT e.id) AS n
                               FROM raw e, unnest(e.sections_referenced) AS s(section)
                              WHERE e.document_id = d.document_id AND (e.occurred_at AT TIME ZONE 'UTC')::date = d.day
                                AND s.section IS NOT NULL
                              GROUP BY s.section ORDER BY n DESC, s.section COLLATE "C" LIMIT 5) t), '[]') AS s
      FROM (SELECT DISTINCT document_id, (occurred_at AT TIME ZONE 'UTC')::date AS day FROM raw
             WHERE document_id IS NOT NULL) d$$, 'document_usage.top_sections per document and UTC day');
SELECT ok((SELECT max(jsonb_array_length(top_sections)) FROM analytics.document_usage) = 5,
  'top_sections holds at most 5 (a busy day has more sections)');

-- 3. Requests by query_intent and request_type.
SELECT set_eq($$SELECT user_id, month, requests_by_intent, requests_by_type FROM analytics.user_monthly_usage$$,
  $$SELECT m.user_id, m.month,
           COALESCE((SELECT jsonb_object_agg(x.query_intent, x.n) FROM (SELECT query_intent, count(*) AS n FROM raw
                      WHERE user_id = m.user_id AND date_trunc('month', usage_date)::date = m.month AND query_intent IS NOT NULL
                      GROUP BY 1) x), '{}') AS i,
           COALESCE((SELECT jsonb_object_agg(x.request_type, x.n) FROM (SELECT request_type, count(*) AS n FROM raw
                      WHERE user_id = m.user_id AND date_trunc('month', usage_date)::date = m.month AND request_type IS NOT NULL
                      GROUP BY 1) x), '{}') AS t
      FROM (SELECT DISTINCT user_id, date_trunc('month', usage_date)::date AS month FROM raw) m$$,
  'user_monthly_usage: requests by intent and by type per user-month');
SELECT set_eq($$SELECT date, requests_by_intent, requests_by_type FROM analytics.system_daily_metrics$$,
  $$SELECT d.day,
           COALESCE((SELECT jsonb_object_agg(x.query_intent, x.n) FROM (SELECT query_intent, count(*) AS n FROM raw
                      WHERE (occurred_at AT TIME ZONE 'UTC')::date = d.day AND query_intent IS NOT NULL GROUP BY 1) x), '{}') AS i,
           COALESCE((SELECT jsonb_object_agg(x.request_type, x.n) FROM (SELECT request_type, count(*) AS n FROM raw
                      WHERE (occurred_at AT TIME ZONE 'UTC')::date = d.day AND request_type IS NOT NULL GROUP BY 1) x), '{}') AS t
      FROM (SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date AS day FROM raw) d$$,
  'system_daily_metrics: requests by intent and by type per UTC day');

-- 4. The materialized views' seed columns.
SELECT lives_ok('SELECT analytics.refresh_all_views()', 'refresh the materialized views');
SELECT set_eq($$SELECT user_id, month, year, month_number, conversation_count, document_count, cache_hit_rate,
                      avg_response_time_ms, last_activity_at FROM analytics.mv_user_monthly_summary$$,
  $$SELECT user_id, date_trunc('month', usage_date)::date AS m, extract(year FROM usage_date)::int AS y,
           extract(month FROM usage_date)::int AS mn, count(DISTINCT conversation_id) AS c, count(DISTINCT document_id) AS d,
           round(100.0 * count(*) FILTER (WHERE cache_hit) / count(*), 2) AS h,
           round(avg(response_time_ms))::int AS l, max(occurred_at) AS a
      FROM raw GROUP BY user_id, date_trunc('month', usage_date)::date, 3, 4$$,
  'mv_user_monthly_summary: year, month, conversations, documents, cache hit rate, average latency, last activity');
SELECT set_eq($$SELECT user_id, month, message_count, active_days, tokens_total, tokens_cached, cost_total,
                      cost_saved_by_cache, error_count, error_rate FROM analytics.mv_user_monthly_summary$$,
  $$SELECT user_id, date_trunc('month', usage_date)::date AS m, count(*) AS n, count(DISTINCT usage_date)::int AS days,
           sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) AS t, sum(cached_input_tokens) AS ct,
           sum(cost) AS c, COALESCE(sum(cache_savings), 0) AS s, count(*) FILTER (WHERE status = 'failed') AS f,
           round(100.0 * count(*) FILTER (WHERE status = 'failed') / count(*), 2) AS r
      FROM raw GROUP BY 1, 2$$,
  'mv_user_monthly_summary: requests, active days, tokens, cost, savings and errors of the folded months');
SELECT set_eq($$SELECT document_id, cost_7d, avg_response_time_ms, last_accessed_at FROM analytics.mv_document_popularity$$,
  $$SELECT document_id,
           COALESCE(sum(cost) FILTER (WHERE (occurred_at AT TIME ZONE 'UTC')::date > (now() AT TIME ZONE 'UTC')::date - 7), 0) AS c,
           round(avg(response_time_ms))::int AS l, max(occurred_at) AS a
      FROM raw WHERE document_id IS NOT NULL GROUP BY 1$$,
  'mv_document_popularity: cost_7d, average latency, last_accessed_at');

SELECT set_eq($$SELECT document_id, users_7d, users_30d, users_all_time FROM analytics.mv_document_popularity$$,
  $$SELECT document_id,
           count(DISTINCT user_id) FILTER (WHERE (occurred_at AT TIME ZONE 'UTC')::date > (now() AT TIME ZONE 'UTC')::date - 7) AS u7,
           count(DISTINCT user_id) FILTER (WHERE (occurred_at AT TIME ZONE 'UTC')::date > (now() AT TIME ZONE 'UTC')::date - 30) AS u30,
           count(DISTINCT user_id) AS u
      FROM raw WHERE document_id IS NOT NULL GROUP BY 1$$,
  'mv_document_popularity: distinct users over the last 7 and 30 UTC days and all time');

-- Distinct conversations and documents over periods: whole months (the
-- month sets), days on either side of a month boundary (the day sets), both.
SELECT set_eq($$SELECT user_id, month, conversation_count, document_count FROM analytics.user_monthly_usage$$,
  $$SELECT user_id, date_trunc('month', usage_date)::date, count(DISTINCT conversation_id) AS c, count(DISTINCT document_id) AS d
      FROM raw GROUP BY 1, 2$$,
  'user_monthly_usage: distinct conversations and documents per user-month');
SELECT set_eq($$SELECT u.user_id, d.conversation_count, d.document_count
                  FROM (SELECT DISTINCT user_id FROM raw) u,
                       analytics.user_period_distinct(u.user_id, (date_trunc('month', now()) - interval '3 days')::date,
                                                      (date_trunc('month', now()) + interval '1 day')::date) d$$,
  $$SELECT u.user_id, count(DISTINCT r.conversation_id) AS c, count(DISTINCT r.document_id) AS d
      FROM (SELECT DISTINCT user_id FROM raw) u
      LEFT JOIN raw r ON r.user_id = u.user_id
                     AND r.usage_date BETWEEN (date_trunc('month', now()) - interval '3 days')::date
                                          AND (date_trunc('month', now()) + interval '1 day')::date
     GROUP BY 1$$,
  'user_period_distinct: days on both sides of a month boundary');
SELECT set_eq($$SELECT u.user_id, d.conversation_count, d.document_count
                  FROM (SELECT DISTINCT user_id FROM raw) u,
                       analytics.user_period_distinct(u.user_id, (date_trunc('month', now()) - interval '1 month' - interval '5 days')::date,
                                                      (now() + interval '1 day')::date) d$$,
  $$SELECT u.user_id, count(DISTINCT r.conversation_id) AS c, count(DISTINCT r.document_id) AS d
      FROM (SELECT DISTINCT user_id FROM raw) u
      LEFT JOIN raw r ON r.user_id = u.user_id
                     AND r.usage_date BETWEEN (date_trunc('month', now()) - interval '1 month' - interval '5 days')::date
                                          AND (now() + interval '1 day')::date
     GROUP BY 1$$,
  'user_period_distinct: days of one month, a whole month and days of the next');

-- 5. Distinct sessions per user-day.
SELECT set_eq($$SELECT user_id, date, session_count FROM analytics.user_daily_usage$$,
  $$SELECT user_id, usage_date, count(DISTINCT session_id) AS n FROM raw GROUP BY 1, 2$$,
  'user_daily_usage.session_count: distinct sessions per user-day');

-- 6. Conversations.
SELECT set_eq($$SELECT user_id, conversation_id, message_count, tokens_total, cost_total, first_activity_at,
                      last_activity_at, active_days FROM analytics.conversation_usage$$,
  $$SELECT user_id, conversation_id, count(*) AS n, sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) AS t,
           sum(cost) AS c, min(occurred_at) AS f, max(occurred_at) AS l, count(DISTINCT usage_date)::int AS d
      FROM raw WHERE conversation_id IS NOT NULL GROUP BY 1, 2$$,
  'conversation_usage: messages, tokens, cost, first and last activity per conversation');
SELECT results_eq($$SELECT * FROM analytics.conversation_averages(now() - interval '7 days')$$,
  $$SELECT count(*), round(avg(n), 2), round(avg(t), 2), round(avg(c), 6)
      FROM (SELECT count(*) AS n, sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) AS t,
                   sum(cost) AS c FROM raw WHERE conversation_id IS NOT NULL
             GROUP BY user_id, conversation_id HAVING min(occurred_at) >= now() - interval '7 days') x$$,
  'conversation_averages: conversations begun in the window and their averages');

-- Corrections and feedback move the new rollups too.
SELECT min(id) AS conv_event FROM analytics.chat_events
 WHERE conversation_id IS NOT NULL AND cost > 0 AND status = 'completed' AND recorded_xid < analytics.fold_watermark() \gset
SELECT lives_ok(format($$SELECT analytics.void_event(%s, 'refund')$$, :conv_event), 'void a folded event of a conversation');
SELECT lives_ok(format($$SELECT analytics.correct_event(%s, input_tokens => 1, reason => 'recount')$$, :conv_event + 1),
  'correct another');
SELECT lives_ok(format('SELECT analytics.record_feedback(%s, 4)', :conv_event + 2), 'rate a third');
SELECT min(id) AS org_event FROM analytics.chat_events
 WHERE org_id IS NOT NULL AND feedback_rating IS NULL AND status = 'completed' AND recorded_xid < analytics.fold_watermark() \gset
SELECT lives_ok(format('SELECT analytics.record_feedback(%s, 5)', :org_event), 'rate a folded event of an organization');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'corrections and feedback: rollups (the organizations'' too) equal the raw log');

-- Read-your-writes: an unfolded event shows at once in the per-user views.
SELECT analytics.record_chat_event('fresh', 'gpt-4o', session_id => 'sx', query_intent => 'lookup', request_type => 'chat',
         user_query_length => 100, ai_response_length => 301, conversation_id => 'cx') AS fresh1 \gset
SELECT analytics.record_chat_event('fresh', 'gpt-4o', session_id => 'sy', query_intent => 'lookup',
         user_query_length => 201) AS fresh2 \gset
SELECT results_eq($$SELECT avg_query_length, avg_response_length, session_count FROM analytics.user_daily_usage WHERE user_id = 'fresh'$$,
  $$VALUES (151, 301, 2::bigint)$$, 'unfolded: lengths and sessions in user_daily_usage');
SELECT results_eq($$SELECT avg_query_length, avg_response_length, requests_by_intent, requests_by_type
                      FROM analytics.user_monthly_usage WHERE user_id = 'fresh'$$,
  $$VALUES (151, 301, '{"lookup": 2}'::jsonb, '{"chat": 1}'::jsonb)$$, 'unfolded: lengths and breakdowns in user_monthly_usage');
SELECT analytics.user_dashboard('fresh') AS dash \gset
SELECT is(:'dash'::jsonb #>> '{metrics,sessionsToday}', '2', 'unfolded: the dashboard''s sessions today');
SELECT is(:'dash'::jsonb -> 'requestsByIntent', '{"lookup": 2}'::jsonb, 'and its requests by intent');
SELECT is(analytics.fold(), 2::bigint, 'fold them');
SELECT results_eq($$SELECT avg_query_length, avg_response_length, session_count FROM analytics.user_daily_usage WHERE user_id = 'fresh'$$,
  $$VALUES (151, 301, 2::bigint)$$, 'folded: the same daily figures, nothing counted twice');
SELECT results_eq($$SELECT requests_by_intent, requests_by_type FROM analytics.user_monthly_usage WHERE user_id = 'fresh'$$,
  $$VALUES ('{"lookup": 2}'::jsonb, '{"chat": 1}'::jsonb)$$, 'folded: the same monthly breakdowns');
SELECT is((analytics.user_dashboard('fresh') -> 'metrics') ->> 'sessionsThisMonth', '2', 'folded: the same sessions in the dashboard');

-- Repair: damage the new rollups, verify finds it, rebuild mends it.
UPDATE analytics.rollup_document_sections SET requests = requests + 1
 WHERE ctid = (SELECT min(ctid) FROM analytics.rollup_document_sections);
UPDATE analytics.rollup_conversations SET requests[1] = requests[1] + 1
 WHERE ctid = (SELECT min(ctid) FROM analytics.rollup_conversations);
UPDATE analytics.rollup_user_daily SET query_length_count = query_length_count + 1
 WHERE ctid = (SELECT min(ctid) FROM analytics.rollup_user_daily);
DELETE FROM analytics.rollup_system_labels WHERE kind = 'request_type';
SELECT set_eq($$SELECT DISTINCT rollup FROM analytics.verify_rollups()$$,
  ARRAY['rollup_document_sections', 'rollup_conversations', 'rollup_user_daily', 'rollup_system_labels'],
  'verify_rollups reports each damaged rollup');
SELECT ok(analytics.rebuild_rollups('1970-01-01', '2100-01-01') > 0, 'rebuild the whole range');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rebuilt rollups equal the raw log');

-- Early writes (beyond maintenance_work_mem) keep every new figure exact.
SELECT setseed(0.5) \gset
SELECT count(analytics.record_chat_event('flush' || i % 2000, 'gpt-4o', input_tokens => i, output_tokens => 1,
         conversation_id => 'fc' || i % 900, document_id => 'fd' || i % 7, session_id => 'fs' || i % 13,
         query_intent => 'qi' || i % 3, request_type => 'rt' || i % 2, user_query_length => i % 97,
         sections_referenced => ARRAY['x' || i % 40, 'y' || i % 11]))
  FROM generate_series(1, 8000) i \gset
BEGIN;
SET LOCAL maintenance_work_mem = '1MB';
SELECT is(analytics.fold(), 8000::bigint, 'a fold with 1MB of maintenance_work_mem');
SELECT ok((SELECT n_tup_upd > 0 FROM pg_stat_xact_user_tables
            WHERE schemaname = 'analytics' AND relname = 'rollup_document_sections'),
  'it wrote the section counts more than once');
COMMIT;
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'and the rollups equal the raw log');

-- The conversations' merge (C): bytewise order, figures of a common
-- conversation added, earliest first and latest last event kept.
SELECT results_eq($$SELECT * FROM analytics.conversations_union(
    '{B,c}', '{1,2}', '{10,20}', '{0.5,1}', '{2026-01-01 10:00+00,2026-01-01 11:00+00}', '{2026-01-01 10:30+00,2026-01-01 12:00+00}',
    '{a,c}', '{3,4}', '{30,40}', '{0.25,0.50}', '{2026-01-01 09:00+00,2026-01-01 09:30+00}', '{2026-01-01 09:10+00,2026-01-01 11:30+00}')$$,
  $$VALUES ('{B,a,c}'::text[], '{1,3,6}'::bigint[], '{10,30,60}'::bigint[], '{0.5,0.25,1.50}'::numeric[],
            '{2026-01-01 10:00+00,2026-01-01 09:00+00,2026-01-01 09:30+00}'::timestamptz[],
            '{2026-01-01 10:30+00,2026-01-01 09:10+00,2026-01-01 12:00+00}'::timestamptz[])$$,
  'conversations_union merges two user-days');
SELECT results_eq($$SELECT conversation_ids, requests FROM analytics.conversations_union(NULL, NULL, NULL, NULL, NULL, NULL,
    '{x}', '{7}', '{1}', '{0}', '{2026-01-01}', '{2026-01-01}')$$,
  $$VALUES ('{x}'::text[], '{7}'::bigint[])$$, 'a NULL side is empty');
SELECT throws_ok($$SELECT analytics.conversations_union('{x}', '{9223372036854775807}', '{1}', '{0}', '{2026-01-01}', '{2026-01-01}',
    '{x}', '{1}', '{1}', '{0}', '{2026-01-01}', '{2026-01-01}')$$, '22003', NULL, 'a sum past bigint is an error, never a wrap');

-- Row-level security of the new per-user rollups.
CREATE ROLE ua_ff_user;
SELECT analytics.grant_end_user('ua_ff_user') \gset
SET usage_analytics.user_id = 'u1';
SELECT is(pg_temp.as_role('ua_ff_user', $$SELECT string_agg(DISTINCT user_id, ',') FROM analytics.conversation_usage$$), 'u1',
  'an end user sees their own conversations only');
SELECT is(pg_temp.as_role('ua_ff_user', $$SELECT string_agg(DISTINCT scope || ':' || scope_id, ',' ORDER BY scope || ':' || scope_id)
                                            FROM analytics.rollup_distinct WHERE scope = 'user_session'$$), 'user_session:u1',
  'and their own sessions');
SELECT is(pg_temp.as_role('ua_ff_user', $$SELECT count(*) FROM analytics.rollup_document_sections$$), 'ERROR 42501',
  'and no document sections');
RESET usage_analytics.user_id;

SELECT * FROM finish();
DROP VIEW raw;
DROP EXTENSION usage_analytics;
DROP OWNED BY ua_ff_user;
DROP ROLE ua_ff_user;
