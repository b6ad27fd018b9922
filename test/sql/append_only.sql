\set ECHO none
\i test/setup.psql
SELECT plan(14);

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

-- A BEFORE INSERT trigger that changes or skips the row would make the log
-- disagree with the counters (they follow what was given): refused loudly.
CREATE FUNCTION pg_temp.shrink() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.input_tokens := 1; RETURN NEW; END $$;
CREATE FUNCTION pg_temp.swallow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RETURN NULL; END $$;
CREATE FUNCTION pg_temp.watch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RETURN NEW; END $$;
CREATE TRIGGER shrink BEFORE INSERT ON analytics.chat_events FOR EACH ROW EXECUTE FUNCTION pg_temp.shrink();
SELECT throws_ok($$SELECT analytics.record_chat_event('ann', 'gpt-4o', input_tokens => 10)$$, '09000',
  'a trigger on analytics.chat_events changed the recorded event', 'a trigger that changes the row is refused');
DROP TRIGGER shrink ON analytics.chat_events;
CREATE TRIGGER swallow BEFORE INSERT ON analytics.chat_events FOR EACH ROW EXECUTE FUNCTION pg_temp.swallow();
SELECT throws_ok($$SELECT analytics.record_chat_event('ann', 'gpt-4o', input_tokens => 10)$$, '09000',
  'a trigger on analytics.chat_events skipped the event', 'a trigger that skips the row is refused');
SELECT throws_ok($$SELECT analytics.start_request('ann', 'gpt-4o', estimated_tokens => 10)$$, '09000',
  NULL, 'also for start_request');
DROP TRIGGER swallow ON analytics.chat_events;
CREATE TRIGGER watch BEFORE INSERT ON analytics.chat_events FOR EACH ROW EXECUTE FUNCTION pg_temp.watch();
SELECT ok(analytics.record_chat_event('ann', 'gpt-4o', input_tokens => 10) > 0, 'a trigger that keeps the row is fine');
DROP TRIGGER watch ON analytics.chat_events;
SELECT is((SELECT count(*) FROM analytics.verify_rollups()), 0::bigint, 'counters equal the log');

SELECT is((SELECT sum(requests)::int FROM analytics.usage_counters WHERE user_id = 'ann'), 4, 'the log and counters are intact');

SELECT * FROM finish();
ROLLBACK;
