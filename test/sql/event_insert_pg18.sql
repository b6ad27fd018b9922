\set ECHO none
\i test/setup.psql
SELECT plan(10);

-- PostgreSQL 18 only (the Makefile's REGRESS_18): what the direct event
-- insert (event_insert.c) must do with CHECK ... NOT ENFORCED and with
-- virtual generated columns -- the same as PostgreSQL's own INSERT.

CREATE FUNCTION pg_temp.rec(model text, tokens int DEFAULT 100) RETURNS bigint LANGUAGE sql AS $$
  SELECT analytics.record_chat_event('eve', model, input_tokens => tokens, output_tokens => 10, cost => 0.5)
$$;

-- A constraint that is NOT ENFORCED is not checked; an enforced one is.
SAVEPOINT s;
ALTER TABLE analytics.chat_events ADD CONSTRAINT not_enforced CHECK (model <> 'skipped') NOT ENFORCED;
SELECT lives_ok($$SELECT pg_temp.rec('skipped')$$, 'a CHECK constraint that is NOT ENFORCED is not checked');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE model = 'skipped'), 1::bigint,
  'and the event is there');
ALTER TABLE analytics.chat_events ADD CONSTRAINT enforced CHECK (model <> 'checked') NOT VALID;
SELECT throws_ok($$SELECT pg_temp.rec('checked')$$, '23514',
  'new row for relation "chat_events_default" violates check constraint "enforced"',
  'beside it an enforced one is, with PostgreSQL''s own error');
ROLLBACK TO SAVEPOINT s;

-- A virtual generated column: no crash, and CHECK constraints over it
-- evaluate the generation expression as INSERT does.
SAVEPOINT s;
ALTER TABLE analytics.chat_events
  ADD COLUMN total_tokens integer GENERATED ALWAYS AS (input_tokens + output_tokens) VIRTUAL;
SELECT lives_ok($$SELECT pg_temp.rec('gpt-4o')$$, 'with a virtual generated column: recorded');
SELECT pg_temp.rec('gpt-4o') AS e1 \gset
SELECT is((SELECT total_tokens FROM analytics.chat_events WHERE id = :e1), 110,
  'and again, the column reading as its expression');
ALTER TABLE analytics.chat_events ADD CONSTRAINT total_small CHECK (total_tokens < 100) NOT VALID;
SELECT throws_ok($$SELECT pg_temp.rec('gpt-4o')$$, '23514',
  'new row for relation "chat_events_default" violates check constraint "total_small"',
  'a CHECK constraint over the virtual column is checked');
SELECT lives_ok($$SELECT pg_temp.rec('gpt-4o', 50)$$, 'and passes when it holds');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE total_tokens = 60), 1::bigint,
  'with the value the expression gives');
ROLLBACK TO SAVEPOINT s;
SELECT lives_ok($$SELECT pg_temp.rec('gpt-4o')$$, 'once the column is gone, recorded');

SELECT is((SELECT sum(requests) FROM analytics.usage_counters WHERE user_id = 'eve'),
  (SELECT count(*) FROM analytics.chat_events WHERE user_id = 'eve')::numeric,
  'the counters equal the log');

SELECT * FROM finish();
ROLLBACK;
