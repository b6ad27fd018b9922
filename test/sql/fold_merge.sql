\set ECHO none
-- The fold's writes (fold_write.c, one MERGE per rollup): a fold into days
-- where some rollup rows exist (merged) and some do not (inserted) gives
-- the rows rebuild_rollups computes in one pass, for every rollup; keys
-- that sort differently bytewise and by a locale.  The fold only folds
-- committed transactions: this file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(10);

CREATE FUNCTION pg_temp.workload(n integer, users text[], from_days integer, to_days integer)
  RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    PERFORM analytics.record_chat_event(
      user_id => users[1 + floor(random() * array_length(users, 1))::int],
      model => (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'])[1 + (random() * 2)::int],
      input_tokens => (random() * 4000)::int,
      output_tokens => (random() * 900)::int,
      response_time_ms => CASE WHEN random() < 0.9 THEN (50 + random() * 3000)::int END,
      time_to_first_token_ms => CASE WHEN random() < 0.5 THEN (random() * 40)::int END,
      status => CASE WHEN random() < 0.08 THEN 'failed' ELSE 'completed' END,
      document_id => CASE WHEN random() < 0.6 THEN (ARRAY['Doc', 'doc', 'éd', '_d'])[1 + (random() * 3)::int] END,
      conversation_id => 'conv' || (random() * 15)::int,
      session_id => CASE WHEN random() < 0.8 THEN 'sess' || (random() * 6)::int END,
      category => (ARRAY['search', 'chat', NULL])[1 + (random() * 2)::int],
      query_intent => (ARRAY['lookup', 'compare', NULL])[1 + (random() * 2)::int],
      request_type => (ARRAY['chat', 'search', NULL])[1 + (random() * 2)::int],
      sections_referenced => CASE WHEN random() < 0.5 THEN ARRAY['s' || (random() * 4)::int] END,
      user_query_length => CASE WHEN random() < 0.7 THEN (random() * 500)::int END,
      org_id => CASE WHEN random() < 0.3 THEN 'org' || (random() * 2)::int END,
      occurred_at => now() - make_interval(days => from_days) + random() * make_interval(days => from_days - to_days));
  END LOOP;
END
$$;
-- Every rollup's rows as text (sketches: their counts; verify_rollups checks them).
CREATE FUNCTION pg_temp.rollups() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT 'user_daily ' || (to_jsonb(t) - 'latency' - 'ttft')::text || COALESCE(analytics.sketch_count(t.latency)::text, '-') || '/' || COALESCE(analytics.sketch_count(t.ttft)::text, '-') FROM analytics.rollup_user_daily t
  UNION ALL SELECT 'user_monthly ' || (to_jsonb(t) - 'latency' - 'ttft')::text || COALESCE(analytics.sketch_count(t.latency)::text, '-') || '/' || COALESCE(analytics.sketch_count(t.ttft)::text, '-') FROM analytics.rollup_user_monthly t
  UNION ALL SELECT 'org_daily ' || (to_jsonb(t) - 'latency' - 'ttft')::text || COALESCE(analytics.sketch_count(t.latency)::text, '-') || '/' || COALESCE(analytics.sketch_count(t.ttft)::text, '-') FROM analytics.rollup_org_daily t
  UNION ALL SELECT 'documents ' || (to_jsonb(t) - 'latency')::text || COALESCE(analytics.sketch_count(t.latency)::text, '-') FROM analytics.rollup_documents t
  UNION ALL SELECT 'system_models ' || (to_jsonb(t) - 'latency')::text || COALESCE(analytics.sketch_count(t.latency)::text, '-') FROM analytics.rollup_system_models t
  UNION ALL SELECT 'user_models ' || to_jsonb(t)::text FROM analytics.rollup_user_models t
  UNION ALL SELECT 'user_categories ' || to_jsonb(t)::text FROM analytics.rollup_user_categories t
  UNION ALL SELECT 'user_labels ' || to_jsonb(t)::text FROM analytics.rollup_user_labels t
  UNION ALL SELECT 'system_labels ' || to_jsonb(t)::text FROM analytics.rollup_system_labels t
  UNION ALL SELECT 'conversations ' || to_jsonb(t)::text FROM analytics.rollup_conversations t
  UNION ALL SELECT 'document_sections ' || to_jsonb(t)::text FROM analytics.rollup_document_sections t
  UNION ALL SELECT 'distinct ' || to_jsonb(t)::text FROM analytics.rollup_distinct t
$$;

SELECT setseed(0.19) \gset
-- First: old days, a few users.
SELECT pg_temp.workload(150, ARRAY['alice', 'Bob', 'émile'], 12, 6) \gset
SELECT ok(analytics.fold() = 150, 'fold the events of the old days');
CREATE TEMP TABLE f1 AS SELECT r FROM pg_temp.rollups() r;
-- Then: the same days and newer ones, the same users and new ones.
SELECT pg_temp.workload(250, ARRAY['alice', 'Bob', 'émile', 'Zoe', '_zed', 'bob'], 12, 1) \gset
SELECT ok(analytics.fold() = 250, 'fold events of the same days and of new ones, old users and new');
CREATE TEMP TABLE f2 AS SELECT r FROM pg_temp.rollups() r;
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'the rollups equal the raw log');
SELECT is((SELECT count(*) FROM (SELECT split_part(r, ' ', 1) FROM f2 GROUP BY 1) n2
             WHERE (SELECT count(*) FROM f2 WHERE split_part(r, ' ', 1) = n2.split_part)
                 > (SELECT count(*) FROM f1 WHERE split_part(r, ' ', 1) = n2.split_part))::int, 12,
          'the second fold inserted rows into every rollup');
SELECT is((SELECT count(DISTINCT split_part(r, ' ', 1)) FROM f1 WHERE r NOT IN (SELECT r FROM f2))::int, 12,
          'and merged into rows of the first in every rollup');
-- The same rows as one fold of everything: rebuild_rollups.
SELECT ok(analytics.rebuild_rollups(current_date - 14, current_date) = 400, 'rebuild the rollups in one fold');
SELECT set_eq('SELECT r FROM pg_temp.rollups() r', 'SELECT r FROM f2',
              'two folds, merged and inserted, give the rows of one');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'the rebuilt rollups equal the raw log');
-- Feedback on folded events still moves the merged rows.
SELECT lives_ok($$SELECT analytics.record_feedback(min(id), 5) FROM analytics.chat_events$$, 'rate a folded event');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'its rating moved the rollups');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
