\set ECHO none
-- The fold only folds committed transactions: this file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(50);

-- A randomized workload: users in several time zones, late events, failures,
-- rollbacks, documents, conversations, categories; folds in between.
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
        response_time_ms => CASE WHEN random() < 0.95 THEN (50 + random() ^ 3 * 20000)::int END,
        time_to_first_token_ms => CASE WHEN random() < 0.5 THEN (random() * 40)::int END,
        status => CASE WHEN random() < 0.08 THEN 'failed' ELSE 'completed' END,
        document_id => CASE WHEN random() < 0.6 THEN 'doc' || (random() * 5)::int END,
        conversation_id => 'conv' || (random() * 12)::int,
        category => (ARRAY['search', 'chat', NULL])[1 + (random() * 2)::int],
        occurred_at => now() - CASE WHEN random() < 0.15 THEN random() * interval '60 days'
                                    ELSE random() * interval '2 hours' END);
      IF random() < 0.15 THEN
        RAISE EXCEPTION 'roll back';
      END IF;
    EXCEPTION WHEN raise_exception THEN
      NULL;
    END;
  END LOOP;
END
$$;
SELECT setseed(0.11) \gset
SELECT pg_temp.workload(300) \gset
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'nothing folded yet: nothing differs');
SELECT ok(analytics.fold() > 200, 'the fold folds the recorded events');
SELECT is(analytics.fold(), 0::bigint, 'a second fold has nothing left');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rollups equal the raw log after a fold');
SELECT is((SELECT sum(requests) FROM analytics.rollup_system_models),
          (SELECT count(*) FROM analytics.chat_events)::numeric, 'every event folded exactly once');

-- More events, some late, and feedback before and after their fold.
SELECT pg_temp.workload(200) \gset
SELECT min(id) AS folded_id FROM analytics.chat_events WHERE recorded_xid < analytics.fold_watermark() \gset
SELECT max(id) AS unfolded_id FROM analytics.chat_events \gset
SELECT lives_ok(format('SELECT analytics.record_feedback(%s, 5, ''great'')', :folded_id), 'rate a folded event');
SELECT lives_ok(format('SELECT analytics.record_feedback(%s, 2)', :folded_id), 'rate it again');
SELECT lives_ok(format('SELECT analytics.record_feedback(%s, 4)', :unfolded_id), 'rate an unfolded event');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'feedback on folded events moves the rollups');
SELECT ok(analytics.fold() > 100, 'fold again');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rollups equal the raw log after late events and feedback');
SELECT is((SELECT feedback_rating FROM analytics.chat_events WHERE id = :folded_id), 2::smallint, 'a new rating replaces the old');
SELECT is((SELECT sum(feedback_count) FROM analytics.rollup_user_daily), 2::numeric, 'two rated events are counted');

-- Read-your-writes: per-user views include unfolded events.
SELECT analytics.record_chat_event('fresh', 'gpt-4o', response_time_ms => 1234, conversation_id => 'c', document_id => 'd') AS fresh_id \gset
SELECT results_eq($$SELECT message_count, median_response_time_ms, conversation_count, document_count
                      FROM analytics.user_daily_usage WHERE user_id = 'fresh'$$,
  $$VALUES (1::bigint, 1234, 1::bigint, 1::bigint)$$, 'an unfolded event shows in user_daily_usage at once');
SELECT lives_ok(format('SELECT analytics.record_feedback(%s, 3)', :fresh_id), 'rate the unfolded event');
SELECT is((SELECT avg_feedback_rating FROM analytics.user_monthly_usage WHERE user_id = 'fresh'), 3.00,
  'and its rating shows in user_monthly_usage');
SELECT is((SELECT analytics.user_dashboard('fresh') #>> '{performance,medianResponseTime}'), '1234',
  'and in the dashboard');
SELECT is((SELECT analytics.user_dashboard('fresh') #>> '{performance,averageRating}'), '3.00',
  'its rating too');
SELECT ok(analytics.fold() >= 1, 'fold it');
SELECT results_eq($$SELECT message_count, median_response_time_ms, conversation_count, avg_feedback_rating
                      FROM analytics.user_monthly_usage WHERE user_id = 'fresh'$$,
  $$VALUES (1::bigint, 1234, 1::bigint, 3.00)$$, 'the same figures once folded: nothing counted twice');

-- Percentiles from rollups match percentile_cont over the raw log.
SELECT cmp_ok((SELECT max(abs(m.median_response_time_ms - e.p50) / NULLIF(e.p50, 0))
                 FROM analytics.user_monthly_usage m
                 JOIN (SELECT user_id, date_trunc('month', usage_date)::date AS month,
                              percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms) AS p50
                         FROM analytics.chat_events GROUP BY 1, 2) e USING (user_id, month)
                WHERE e.p50 >= 100),
              '<=', 0.011::float8, 'monthly medians from merged rollups are within 1 % (plus rounding)');

-- System and document rollups.
SELECT is((SELECT sum(total_messages) FROM analytics.system_daily_metrics),
          (SELECT count(*) FROM analytics.chat_events)::numeric, 'system metrics count every event');
SELECT is((SELECT sum(active_users) FROM analytics.system_daily_metrics),
          (SELECT count(DISTINCT (user_id, (occurred_at AT TIME ZONE 'UTC')::date)) FROM analytics.chat_events)::numeric,
  'active users per UTC day');
SELECT is((SELECT sum(new_users) FROM analytics.system_daily_metrics),
          (SELECT count(DISTINCT user_id) FROM analytics.chat_events)::numeric, 'each user is new exactly once');
SELECT is((SELECT sum(unique_users) FROM analytics.document_usage),
          (SELECT count(DISTINCT (document_id, user_id, (occurred_at AT TIME ZONE 'UTC')::date))
             FROM analytics.chat_events WHERE document_id IS NOT NULL)::numeric, 'distinct users per document and day');

-- Repair: damage a range, verify finds it, rebuild mends it.
UPDATE analytics.rollup_user_models SET requests = requests + 1
 WHERE usage_date = (SELECT max(usage_date) FROM analytics.rollup_user_models);
DELETE FROM analytics.rollup_distinct WHERE scope = 'system_user';
SELECT isnt_empty('SELECT * FROM analytics.verify_rollups()', 'verify_rollups reports damaged rollups');
SELECT ok(analytics.rebuild_rollups('1970-01-01', '2100-01-01') > 0, 'rebuild the whole range');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rebuilt rollups equal the raw log');
SELECT throws_ok($$SELECT analytics.rebuild_rollups('2026-02-01', '2026-01-01')$$, '22023', NULL, 'reversed range');

-- The distinct sets' merge (C): bytewise order, no duplicates, NULLs as empty.
SELECT is(analytics.text_set_union('{a,c,e}', '{b,c,d,f}'), '{a,b,c,d,e,f}'::text[], 'text_set_union merges two sorted sets');
SELECT is(analytics.text_set_union('{B,a}', '{A,b}'), '{A,B,a,b}'::text[], 'in bytewise order');
SELECT is(analytics.text_set_union(NULL, '{NULL,x,x}'), '{x}'::text[], 'NULL arrays and elements count as empty');
-- Distinct counts over many sets (C): a hash set of the strings, any order.
SELECT is((SELECT analytics.text_set_count(a) FROM (VALUES ('{a,b,c}'::text[]), ('{c,d}'), ('{d,a,e}')) v(a)), 5::bigint,
          'text_set_count: the size of the union of a group''s arrays');
SELECT is((SELECT analytics.text_set_count(a) FROM (VALUES (NULL::text[]), ('{NULL,x,x}'), ('{}')) v(a)), 1::bigint,
          'NULL arrays, NULL elements and repeats count once or not at all');
SELECT is((SELECT analytics.text_set_count(a) FROM (VALUES (NULL::text[])) v(a) WHERE false), 0::bigint,
          'no rows: 0');
SELECT is((SELECT analytics.text_set_count(a) FROM (VALUES ('{ab,Ab,"ab "}'::text[]), ('{aB,ab}')) v(a)), 4::bigint,
          'strings are compared bytewise');
CREATE TEMP TABLE big_set AS SELECT array_agg('item-' || i ORDER BY i) AS a FROM generate_series(1, 200000) i;
SELECT is((SELECT analytics.text_set_size(a) FROM big_set), 200000,
          'text_set_size: a stored set''s size from its header');
SELECT is(ARRAY[analytics.text_set_size('{}'), analytics.text_set_size('{x,NULL}')], '{0,2}'::int[],
          'text_set_size of an empty array and of one with a NULL');

-- The fold in C (fold.c) with sets large enough to be compacted while the
-- batch is read (more than 64 items, repeats interleaved across users and
-- documents), late events and two batches; then a rebuild of one range.
SELECT setseed(0.42) \gset
SELECT count(analytics.record_chat_event(
         user_id => 'big' || (i % 3), model => 'gpt-4o', input_tokens => i % 700, output_tokens => 7,
         response_time_ms => CASE WHEN i % 11 <> 0 THEN 40 + i % 997 END,
         document_id => CASE WHEN i % 4 <> 0 THEN 'bigdoc' || (i % 5) END,
         conversation_id => 'bigconv' || (random() * 400)::int,
         category => (ARRAY['chat', 'search'])[1 + i % 2],
         occurred_at => now() - CASE WHEN i % 9 = 0 THEN (i % 5) * interval '1 day' ELSE interval '0' END))
  FROM generate_series(1, 2500) i \gset
SELECT analytics.fold() \gset
SELECT count(analytics.record_chat_event('big' || (i % 2), 'gpt-4o-mini', input_tokens => 3,
         conversation_id => 'bigconv' || (i * 7 % 450), document_id => 'bigdoc' || (i % 3)))
  FROM generate_series(1, 1200) i \gset
SELECT is(analytics.fold(), 1200::bigint, 'the second batch folds');
SELECT ok((SELECT max(cardinality(items)) FROM analytics.rollup_distinct WHERE scope = 'user_month_conversation') > 300,
  'sets large enough to be compacted while reading');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'large interleaved sets, late events, two batches: rollups equal the raw log');
SELECT ok(analytics.rebuild_rollups(current_date - 3, current_date - 1) > 0, 'rebuild a range of days');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'and the rebuilt range equals the raw log');
-- Aggregates beyond maintenance_work_mem are written early and started
-- afresh: the month rows of new users are then updated within one fold.
SELECT count(analytics.record_chat_event('flush' || i % 3000, 'gpt-4o', input_tokens => i, output_tokens => 1,
         response_time_ms => 10 + i % 500, conversation_id => 'fc' || i % 50, document_id => 'fd' || i % 7))
  FROM generate_series(1, 9000) i \gset
BEGIN;
SET LOCAL maintenance_work_mem = '1MB';
SELECT is(analytics.fold(), 9000::bigint, 'a fold with 1MB of maintenance_work_mem');
SELECT ok((SELECT n_tup_upd > 0 FROM pg_stat_xact_user_tables
            WHERE schemaname = 'analytics' AND relname = 'rollup_user_monthly'),
  'it wrote its aggregates more than once');
COMMIT;
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'and the rollups equal the raw log');
SELECT is((SELECT string_agg(c.relname || '.' || a.attname || '=' || a.attcompression::text, ' ' ORDER BY c.relname, a.attname)
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
              AND a.atttypid IN ('analytics.latency_sketch'::regtype, 'text[]'::regtype)
              AND c.relname LIKE 'rollup%'),
  'rollup_api_daily.latency=l rollup_conversations.conversation_ids=l rollup_distinct.items=l rollup_documents.latency=l rollup_org_daily.latency=l rollup_org_daily.ttft=l rollup_system_models.latency=l rollup_user_daily.latency=l rollup_user_daily.ttft=l rollup_user_monthly.latency=l rollup_user_monthly.ttft=l',
  'every sketch and distinct-set column of the rollups is compressed with lz4');
SELECT throws_ok('SELECT analytics.fold_range(NULL, 1, NULL, NULL)', '22004', NULL,
  'fold_range needs both transaction id bounds');
SELECT throws_ok('SELECT * FROM analytics.fold_rows() AS r(x text)', '55000',
  'analytics.fold_rows() is internal to the fold', 'fold_rows outside the fold is an error');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
