\set ECHO none
-- The fold's direct insert of new keys (fold_write.c): rows of a user,
-- document or scope with no stored row in the flush's days are inserted
-- as COPY does, the others merged.  One fold with both kinds, a fold
-- across maintenance_work_mem flushes (a key inserted by the first flush
-- is merged by the next), and a refold after rows were deleted: every
-- time the rollups equal the raw log and the rows of one rebuild.  A row
-- the direct insert wrote twice fails its primary key; one it lost shows
-- in verify_rollups and in the comparison.  The fold only folds committed
-- transactions: this file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(19);

CREATE FUNCTION pg_temp.workload(n integer, users text[], docs text[], from_days integer, to_days integer)
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
      document_id => CASE WHEN random() < 0.6 THEN docs[1 + floor(random() * array_length(docs, 1))::int] END,
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
-- Rows inserted and updated in this transaction, per rollup.
CREATE FUNCTION pg_temp.written(rel text, OUT ins bigint, OUT upd bigint) LANGUAGE sql AS $$
  SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables
   WHERE schemaname = 'analytics' AND relname = rel
$$;

SELECT setseed(0.23) \gset
-- Old users and documents with rows in days 20..8 ago.
SELECT pg_temp.workload(200, ARRAY['alice', 'Bob', 'émile'], ARRAY['Doc', 'éd'], 20, 8) \gset
SELECT ok(analytics.fold() = 200, 'fold the events of the old users');

-- One fold: the old users and documents on their days and on new days of
-- the range (merged), new users and documents (inserted), in the same days.
SELECT pg_temp.workload(300, ARRAY['alice', 'Bob', 'émile', 'Zoe', '_zed', 'bob', 'ZZ top'],
                        ARRAY['Doc', 'éd', 'doc', '_d'], 22, 2) \gset
BEGIN;
SELECT ok(analytics.fold() = 300, 'fold old and new users, old and new documents, in one fold');
SELECT ok((SELECT ins > 0 AND upd > 0 FROM pg_temp.written('rollup_user_daily')),
          'it inserted and merged user-days');
SELECT ok((SELECT ins > 0 AND upd > 0 FROM pg_temp.written('rollup_documents')),
          'it inserted and merged document-days');
SELECT ok((SELECT ins > 0 AND upd > 0 FROM pg_temp.written('rollup_distinct')),
          'it inserted and merged distinct sets');
COMMIT;
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'the rollups equal the raw log');
CREATE TEMP TABLE f1 AS SELECT r FROM pg_temp.rollups() r;
SELECT ok(analytics.rebuild_rollups(current_date - 30, current_date) = 500, 'rebuild the rollups in one fold');
SELECT set_eq('SELECT r FROM pg_temp.rollups() r', 'SELECT r FROM f1',
              'two folds, inserted and merged, give the rows of one rebuild');

-- Across early writes: 1MB of maintenance_work_mem, new users and
-- documents whose keys come back in every part of the fold.
SELECT count(analytics.record_chat_event('flush' || i % 2500, 'gpt-4o', input_tokens => i, output_tokens => 1,
         response_time_ms => 10 + i % 500, conversation_id => 'fc' || i % 50, document_id => 'fd' || i % 7,
         session_id => 'fs' || i % 5, category => 'c' || i % 3, sections_referenced => ARRAY['x' || i % 4],
         occurred_at => now() - make_interval(days => i % 4)))
  FROM generate_series(1, 9000) i \gset
BEGIN;
SET LOCAL maintenance_work_mem = '1MB';
SELECT is(analytics.fold(), 9000::bigint, 'a fold with 1MB of maintenance_work_mem');
SELECT ok((SELECT ins >= 2500 AND upd > 0 FROM pg_temp.written('rollup_user_monthly')),
          'it inserted the new users'' months and merged them in a later part');
COMMIT;
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'and the rollups equal the raw log');
CREATE TEMP TABLE f2 AS SELECT r FROM pg_temp.rollups() r;
SELECT ok(analytics.rebuild_rollups(current_date - 30, current_date) = 9500, 'rebuild the rollups in one fold');
SELECT set_eq('SELECT r FROM pg_temp.rollups() r', 'SELECT r FROM f2',
              'the fold across early writes gives the rows of one rebuild');

-- The same rows through the MERGE alone: a row trigger on every rollup
-- keeps the direct insert out (and fires for every row the MERGE inserts).
CREATE FUNCTION public.fold_direct_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('fold_direct.fired', (COALESCE(NULLIF(current_setting('fold_direct.fired', true), ''), '0')::int + 1)::text, true);
  RETURN NEW;
END
$$;
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['rollup_user_daily', 'rollup_user_monthly', 'rollup_org_daily', 'rollup_documents',
      'rollup_system_models', 'rollup_user_models', 'rollup_user_categories', 'rollup_user_labels',
      'rollup_system_labels', 'rollup_conversations', 'rollup_document_sections', 'rollup_distinct'] LOOP
    EXECUTE format('CREATE TRIGGER fold_direct_seen BEFORE INSERT ON analytics.%I FOR EACH ROW EXECUTE FUNCTION public.fold_direct_seen()', t);
  END LOOP;
END
$$;
BEGIN;
SELECT ok(analytics.rebuild_rollups(current_date - 30, current_date) = 9500, 'rebuild through the MERGE');
SELECT ok(current_setting('fold_direct.fired')::int >= (SELECT count(*) FROM f2 WHERE r NOT LIKE 'user_monthly %'),
          'every rebuilt row went through the MERGE''s insert');
COMMIT;
SELECT set_eq('SELECT r FROM pg_temp.rollups() r', 'SELECT r FROM f2',
              'the direct insert and the MERGE give the same rows');
DO $$
DECLARE
  t regclass;
BEGIN
  FOR t IN SELECT tgrelid FROM pg_trigger WHERE tgname = 'fold_direct_seen' LOOP
    EXECUTE format('DROP TRIGGER fold_direct_seen ON %s', t);
  END LOOP;
END
$$;
DROP FUNCTION public.fold_direct_seen();

-- A rebuild deletes the range's rows and refolds it in one transaction:
-- the keys it deleted are new again.
SELECT ok(analytics.rebuild_rollups(current_date - 10, current_date - 1) > 0, 'rebuild part of the range');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'the rebuilt part equals the raw log');
SELECT set_eq('SELECT r FROM pg_temp.rollups() r', 'SELECT r FROM f2', 'and the rows are those of the whole rebuild');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
