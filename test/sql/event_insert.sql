\set ECHO none
\i test/setup.psql
SELECT plan(22);

-- record_chat_event inserts without a statement (event_insert.c), with the
-- partition's constraints compiled once per backend.  Whatever changes the
-- table must reach that cache, and whatever the direct path does not handle
-- must go through a plain INSERT with the same result.

CREATE FUNCTION pg_temp.rec(model text, cost numeric DEFAULT NULL, at timestamptz DEFAULT NULL)
RETURNS bigint LANGUAGE sql AS $$
  SELECT analytics.record_chat_event('eve', model, input_tokens => 100, output_tokens => 10,
                                     cost => cost, occurred_at => at)
$$;
CREATE FUNCTION pg_temp.counted() RETURNS numeric LANGUAGE sql AS $$
  SELECT COALESCE(sum(requests), 0) FROM analytics.usage_counters WHERE user_id = 'eve'
$$;

-- Routing: the default partition, a monthly one, one with another column order.
SELECT pg_temp.rec('gpt-4o') AS e1 \gset
SELECT is((SELECT tableoid::regclass::text FROM analytics.chat_events WHERE id = :e1),
  'analytics.chat_events_default', 'without a monthly partition the event goes to the default one');
SELECT ok(analytics.ensure_partitions(0) >= 1, 'a partition for this month');
SELECT pg_temp.rec('gpt-4o') AS e2 \gset
SELECT is((SELECT tableoid::regclass::text FROM analytics.chat_events WHERE id = :e2),
  'analytics.chat_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM'), 'then to this month''s');
SELECT results_eq($$SELECT id, user_id, model, status, input_tokens, output_tokens, cost_source,
                          recorded_at = now(), recorded_xid = txid_current()
                     FROM analytics.chat_events WHERE id = $$ || :e2,
  format($$VALUES (%s::bigint, 'eve', 'gpt-4o', 'completed', 100, 10, 'computed', true, true)$$, :e2),
  'every column as given, recorded_at from its default');

CREATE TABLE analytics.chat_events_2020 (spare int, LIKE analytics.chat_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE analytics.chat_events_2020 DROP COLUMN spare;
ALTER TABLE analytics.chat_events ATTACH PARTITION analytics.chat_events_2020
  FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2021-01-01 00:00+00');
SELECT pg_temp.rec('gpt-4o', 0.5, at => '2020-06-01 12:00+00') AS e3 \gset
SELECT results_eq($$SELECT tableoid::regclass::text, user_id, model, input_tokens, usage_date
                     FROM analytics.chat_events WHERE id = $$ || :e3,
  $$VALUES ('analytics.chat_events_2020', 'eve', 'gpt-4o', 100, '2020-06-01'::date)$$,
  'a partition whose columns sit elsewhere gets the row converted');
SELECT is((SELECT count(*) FROM analytics.chat_events_2020 WHERE id = :e3 AND model = 'gpt-4o'), 1::bigint,
  'and holds it in its own layout');

-- Constraints added after the cache was built are enforced, on the table or one partition.
SAVEPOINT s;
ALTER TABLE analytics.chat_events ADD CONSTRAINT no_banned_model CHECK (model <> 'banned') NOT VALID;
SELECT throws_ok($$SELECT pg_temp.rec('banned', 0.5)$$, '23514', NULL,
  'a constraint added to the table is checked');
ALTER TABLE analytics.chat_events DROP CONSTRAINT no_banned_model;
SELECT ok(pg_temp.rec('banned', 0.5) > 0, 'and no longer once dropped');
ALTER TABLE analytics.chat_events DROP CONSTRAINT chat_events_model_check,
  ADD CONSTRAINT chat_events_model_check CHECK (model <> '' AND model <> 'banned2');
SELECT throws_ok($$SELECT pg_temp.rec('banned2', 0.5)$$, '23514', NULL,
  'a constraint replaced by another (as many as before) is checked');
ALTER TABLE analytics.chat_events_2020 ADD CONSTRAINT small_2020 CHECK (input_tokens < 50) NOT VALID;
SELECT throws_ok($$SELECT pg_temp.rec('gpt-4o', 0.5, at => '2020-07-01 12:00+00')$$, '23514',
  'new row for relation "chat_events_2020" violates check constraint "small_2020"',
  'a constraint of one partition is checked, with PostgreSQL''s own error');
SELECT ok(pg_temp.rec('gpt-4o') > 0, 'other partitions are not affected');
ROLLBACK TO SAVEPOINT s;
SELECT is(pg_temp.counted(), 3::numeric, 'a failed insert counted nothing');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE user_id = 'eve'), 3::bigint,
  'and left no event');

-- Defaults of the columns the write path does not set follow the table.
SAVEPOINT s;
ALTER TABLE analytics.chat_events ALTER COLUMN feedback_text SET DEFAULT 'none yet';
SELECT pg_temp.rec('gpt-4o') AS e4 \gset
SELECT is((SELECT feedback_text FROM analytics.chat_events WHERE id = :e4), 'none yet',
  'a changed default is used');
ROLLBACK TO SAVEPOINT s;

-- What the direct path leaves to a plain INSERT: the same row, counted once.
CREATE TABLE pg_temp.seen (model text, via text);
CREATE FUNCTION public.model_allowed(m text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN m <> 'forbidden';
END $$;
SAVEPOINT s;
ALTER TABLE analytics.chat_events ADD CONSTRAINT model_allowed CHECK (public.model_allowed(model));
SELECT ok(pg_temp.rec('gpt-4o') > 0, 'a constraint calling a user-defined function: recorded');
SELECT throws_ok($$SELECT pg_temp.rec('forbidden', 0.5)$$, '23514', NULL, 'and checked');
ROLLBACK TO SAVEPOINT s;

CREATE FUNCTION public.note_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pg_temp.seen VALUES (NEW.model, TG_TABLE_NAME || ' ' || TG_WHEN);
  RETURN NEW;
END $$;
SAVEPOINT s;
CREATE TRIGGER note_before BEFORE INSERT ON analytics.chat_events FOR EACH ROW EXECUTE FUNCTION public.note_event();
SELECT pg_temp.rec('gpt-4o') AS e5 \gset
SELECT results_eq($$SELECT model, via FROM pg_temp.seen$$,
  $$VALUES ('gpt-4o', 'chat_events_$$ || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM') || $$ BEFORE')$$,
  'a row trigger on the table fires');
SELECT is((SELECT input_tokens FROM analytics.chat_events WHERE id = :e5), 100, 'and the event is there');
DROP TRIGGER note_before ON analytics.chat_events;
DELETE FROM pg_temp.seen;
CREATE TRIGGER note_after AFTER INSERT ON analytics.chat_events_2020 FOR EACH ROW EXECUTE FUNCTION public.note_event();
SELECT pg_temp.rec('gpt-4o', 0.5, at => '2020-08-01 12:00+00') AS e6 \gset
SELECT results_eq($$SELECT model, via FROM pg_temp.seen$$, $$VALUES ('gpt-4o', 'chat_events_2020 AFTER')$$,
  'a row trigger on one partition fires');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE id = :e6), 1::bigint, 'and the event is there once');
ROLLBACK TO SAVEPOINT s;
SELECT is(pg_temp.counted(), (SELECT count(*) FROM analytics.chat_events WHERE user_id = 'eve')::numeric,
  'the counters equal the log');
SELECT is((SELECT count(DISTINCT id) FROM analytics.chat_events), (SELECT count(*) FROM analytics.chat_events),
  'every event has its own id');

SELECT * FROM finish();
ROLLBACK;
