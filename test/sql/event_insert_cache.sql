\set ECHO none
\i test/setup.psql
SELECT plan(11);

-- The direct event insert (event_insert.c) caches compiled constraints and
-- defaults per backend.  What it caches must follow what PostgreSQL's own
-- INSERT would evaluate now, and an error while building the cache must not
-- leave a half-built one behind.

CREATE FUNCTION pg_temp.rec(model text) RETURNS bigint LANGUAGE sql AS $$
  SELECT analytics.record_chat_event('eve', model, input_tokens => 100, output_tokens => 10, cost => 0.5)
$$;

-- A CHECK constraint calling a user's SQL function (which the planner inlines).
CREATE FUNCTION public.model_ok(m text) RETURNS boolean LANGUAGE sql AS $$ SELECT m <> 'bad1' $$;
SAVEPOINT s;
ALTER TABLE analytics.chat_events ADD CONSTRAINT model_ok CHECK (public.model_ok(model)) NOT VALID;
SELECT ok(pg_temp.rec('gpt-4o') > 0, 'a constraint calling a SQL function: recorded');
SELECT throws_ok($$SELECT pg_temp.rec('bad1')$$, '23514', NULL, 'and checked');
CREATE OR REPLACE FUNCTION public.model_ok(m text) RETURNS boolean LANGUAGE sql AS $$ SELECT m <> 'bad2' $$;
SELECT throws_ok($$SELECT pg_temp.rec('bad2')$$, '23514', NULL,
  'after CREATE OR REPLACE FUNCTION the constraint follows the new body');
SELECT lives_ok($$SELECT pg_temp.rec('bad1')$$, 'and no longer the old one');
ROLLBACK TO SAVEPOINT s;

-- A default calling a user's SQL function.
CREATE FUNCTION public.first_note() RETURNS text LANGUAGE sql AS $$ SELECT 'first' $$;
SAVEPOINT s;
ALTER TABLE analytics.chat_events ALTER COLUMN feedback_text SET DEFAULT public.first_note();
SELECT pg_temp.rec('gpt-4o') AS e1 \gset
SELECT is((SELECT feedback_text FROM analytics.chat_events WHERE id = :e1), 'first',
  'a default calling a SQL function is used');
CREATE OR REPLACE FUNCTION public.first_note() RETURNS text LANGUAGE sql AS $$ SELECT 'second' $$;
SELECT pg_temp.rec('gpt-4o') AS e2 \gset
SELECT is((SELECT feedback_text FROM analytics.chat_events WHERE id = :e2), 'second',
  'after CREATE OR REPLACE FUNCTION the default follows the new body');
ROLLBACK TO SAVEPOINT s;

-- A column of a domain type: the domain's default and constraints apply.
CREATE DOMAIN public.review_state AS text DEFAULT 'unreviewed' CHECK (VALUE <> '');
SAVEPOINT s;
ALTER TABLE analytics.chat_events ADD COLUMN review public.review_state;
SELECT pg_temp.rec('gpt-4o') AS e3 \gset
SELECT is((SELECT review FROM analytics.chat_events WHERE id = :e3)::text, 'unreviewed',
  'a column of a domain type gets the domain''s default');
ROLLBACK TO SAVEPOINT s;

-- A default that fails when compiled (the planner folds 1/0): the error,
-- every time, not a cache left half-built after the first one.
SAVEPOINT s;
ALTER TABLE analytics.chat_events ALTER COLUMN feedback_text SET DEFAULT (1 / 0)::text;
SELECT throws_ok($$SELECT pg_temp.rec('gpt-4o')$$, '22012', NULL,
  'a default that cannot be computed: its error');
SELECT throws_ok($$SELECT pg_temp.rec('gpt-4o')$$, '22012', NULL,
  'and again on the next event: the cache was not marked built');
ROLLBACK TO SAVEPOINT s;
SELECT pg_temp.rec('gpt-4o') AS e4 \gset
SELECT is((SELECT feedback_text FROM analytics.chat_events WHERE id = :e4), NULL,
  'once the default is back, events are recorded with it');
SELECT is((SELECT sum(requests) FROM analytics.usage_counters WHERE user_id = 'eve'),
  (SELECT count(*) FROM analytics.chat_events WHERE user_id = 'eve')::numeric,
  'the counters equal the log');

SELECT * FROM finish();
ROLLBACK;
