\set ECHO none
\i test/setup.psql
SELECT plan(3);

-- On a single node (no Citus), analytics.distribute() refuses clearly and
-- changes nothing; the write path stays the direct one (issue 16).
SELECT throws_ok('SELECT analytics.distribute()', '0A000',
  'Citus is not installed in this database',
  'distribute() without Citus is refused with 0A000');
SELECT is((SELECT count(*) FROM pg_trigger
            WHERE tgrelid = 'analytics.chat_events'::regclass AND NOT tgisinternal), 2::bigint,
  'the append-only guards are still in place');
SELECT ok((SELECT pg_get_expr(polqual, polrelid) ~ 'SELECT analytics.current_user_id'
             FROM pg_policy WHERE polname = 'chat_events_read'),
  'the policies keep their sub-selects');

SELECT * FROM finish();
ROLLBACK;
