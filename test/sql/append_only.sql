\set ECHO none
\i test/setup.psql
SELECT plan(9);

-- Holes in the append-only guarantee, each closed: a partition truncated
-- by name, session_replication_role = replica, a new month's partition.
SELECT analytics.ensure_partitions(1) \gset
SELECT count(analytics.record_chat_event('ann', 'gpt-4o', input_tokens => 10)) FROM generate_series(1, 3) \gset
SELECT format('analytics.chat_events_%s', to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')) AS part \gset

SELECT throws_ok(format('TRUNCATE %s', :'part'), '42501', 'TRUNCATE of analytics.chat_events is not allowed',
  'the current month''s partition refuses TRUNCATE by name');
SELECT throws_ok('TRUNCATE analytics.chat_events_default', '42501', NULL, 'so does the default partition');
SELECT throws_ok('TRUNCATE analytics.chat_events', '42501', NULL, 'and the parent');

SET session_replication_role = replica;
SELECT throws_ok('DELETE FROM analytics.chat_events', '42501', 'DELETE of analytics.chat_events is not allowed',
  'replica mode does not switch the guard off (DELETE)');
SELECT throws_ok($$UPDATE analytics.chat_events SET input_tokens = 0$$, '42501', NULL, 'nor UPDATE');
SELECT throws_ok(format('TRUNCATE %s', :'part'), '42501', NULL, 'nor TRUNCATE of a partition');
RESET session_replication_role;

-- A partition made later (by ensure_partitions) is guarded the same way.
SELECT analytics.ensure_partitions(3) \gset
SELECT format('analytics.chat_events_%s', to_char((now() AT TIME ZONE 'UTC') + interval '3 months', 'YYYYMM')) AS later \gset
SELECT throws_ok(format('TRUNCATE %s', :'later'), '42501', NULL, 'a partition made later refuses TRUNCATE');
SELECT is((SELECT count(*) FROM pg_trigger t JOIN pg_inherits i ON i.inhrelid = t.tgrelid
            WHERE i.inhparent = 'analytics.chat_events'::regclass AND t.tgenabled <> 'A'
              AND t.tgname IN ('chat_events_append_only', 'chat_events_no_truncate')), 0::bigint,
  'every guard trigger of every partition fires always');

SELECT is((SELECT sum(requests)::int FROM analytics.usage_counters WHERE user_id = 'ann'), 3, 'the log and counters are intact');

SELECT * FROM finish();
ROLLBACK;
