-- The write path and admission on the distributed install (issue 16), on
-- the cluster 000_smoke distributed: counters equal the raw log after
-- delegated calls (top-level, Citus runs them on the worker that holds the
-- user), coordinator-side calls (inside a transaction block) and
-- multi-subject transactions and requests settled by complete_request
-- (with user_id, and by event id alone);
-- ids unique across nodes; racing admissions
-- of one user from both workers admit exactly the plan's limit; what is
-- refused is refused with its SQLSTATE.

SELECT plan(16);

SELECT is(analytics.distribute(), 0, 'a second analytics.distribute() converts nothing');

-- Delegated: each a top-level statement outside a transaction block.
SELECT analytics.record_chat_event(user_id => 'd1', model => 'gpt-4o-mini', input_tokens => 100, output_tokens => 10) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'd2', model => 'gpt-4o-mini', input_tokens => 200, output_tokens => 20) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'd3', model => 'gpt-4o-mini', input_tokens => 300, output_tokens => 30,
                                   request_id => 'dup-1') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'd3', model => 'gpt-4o-mini', input_tokens => 300, output_tokens => 30,
                                   request_id => 'dup-1') > 0 AS ok \gset
SELECT event_id > 0 AS ok FROM analytics.start_request('d4', 'gpt-4o-mini', 50) \gset
-- Settled on the coordinator, found by user and id.
SELECT event_id AS d6_id FROM analytics.start_request('d6', 'gpt-4o-mini', 50) \gset
SELECT status_out AS d6_status FROM analytics.complete_request(:d6_id, 'completed', 40, output_tokens => 5,
                                                               user_id => 'd6') \gset

-- Coordinator-side: inside a transaction block nothing is delegated.
BEGIN;
SELECT analytics.record_chat_event(user_id => 'c1', model => 'gpt-4o-mini', input_tokens => 10, output_tokens => 1) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'c1', model => 'gpt-4o-mini', input_tokens => 10, output_tokens => 1,
                                   request_id => 'c1-a') > 0 AS ok \gset
COMMIT;

-- Multi-subject transactions, one committed, one rolled back.
BEGIN;
SELECT count(analytics.record_chat_event(user_id => 'm' || i, model => 'gpt-4o-mini',
                                         input_tokens => i, output_tokens => i))
  FROM generate_series(1, 8) i \gset
COMMIT;
BEGIN;
SELECT count(analytics.record_chat_event(user_id => 'm' || i, model => 'gpt-4o-mini',
                                         input_tokens => i, output_tokens => i))
  FROM generate_series(1, 8) i \gset
ROLLBACK;

-- A batch (not delegated: its users live on different workers).
SELECT count(*) AS batch_ids FROM analytics.record_chat_events(
  '[{"user_id": "b1", "model": "gpt-4o-mini", "input_tokens": 5, "output_tokens": 1},
    {"user_id": "b2", "model": "gpt-4o-mini", "input_tokens": 6, "output_tokens": 1, "request_id": "b2-a"},
    {"user_id": "b2", "model": "gpt-4o-mini", "input_tokens": 6, "output_tokens": 1, "request_id": "b2-a"},
    {"user_id": "b3", "model": "gpt-4o-mini", "input_tokens": 7, "output_tokens": 1}]') \gset

SELECT is((SELECT count(*)::int FROM analytics.chat_events
            WHERE user_id IN ('d1', 'd2', 'd3', 'd4', 'd6', 'c1', 'b1', 'b2', 'b3') OR user_id LIKE 'm_'),
          18, 'every recorded event is in the log once (idempotency key honoured, rollback kept out; the batch too)');
SELECT is((SELECT count(*)::int FROM (
             SELECT user_id, count(*) FILTER (WHERE status <> 'pending') AS n,
                    count(*) FILTER (WHERE status = 'pending') AS p,
                    COALESCE(sum(input_tokens) FILTER (WHERE status <> 'pending'), 0) AS i
               FROM analytics.chat_events GROUP BY user_id) l
           FULL JOIN (
             SELECT user_id, sum(requests) AS n, sum(pending_requests) AS p, sum(input_tokens) AS i
               FROM analytics.usage_counters GROUP BY user_id) c USING (user_id)
            WHERE (l.n, l.p, l.i) IS DISTINCT FROM (c.n, c.p, c.i)),
          0, 'the counters equal the raw log, user by user');
SELECT is((SELECT count(*) - count(DISTINCT id) FROM analytics.chat_events), 0::bigint,
          'event ids are unique across the nodes');
SELECT ok((SELECT count(DISTINCT id >> 48) >= 2 FROM analytics.chat_events),
          'ids come from the ranges of more than one node (coordinator and workers)');
SELECT is((SELECT sum(result::bigint)::int FROM run_command_on_shards('analytics.chat_events',
             $q$SELECT count(*) FROM %s$q$)),
          (SELECT count(*)::int FROM analytics.chat_events),
          'every event is in a shard');
SELECT is((SELECT allowed FROM analytics.check_quota('d1', 0)), true,
          'check_quota answers from the shard (delegated)');
SELECT is((SELECT used::int FROM analytics.check_quota('c1', 0)), 2,
          'check_quota sees what the coordinator-side transaction recorded');

SELECT is(:'d6_status'::text, 'completed', 'complete_request with user_id settles the request on the cluster');

-- Inside a transaction block on the coordinator: admitted, its lock taken
-- on the user's worker (and its rows written there) in this transaction.
BEGIN;
SELECT allowed AS d4_allowed, status AS d4_status FROM analytics.start_request('d4', 'gpt-4o-mini', 10) \gset
COMMIT;
SELECT is(:'d4_allowed' || ' ' || :'d4_status', 't pending',
          'start_request inside a transaction block on the coordinator admits (the lock taken on the user''s worker)');
SELECT throws_ok($$SELECT * FROM analytics.start_request('d5', 'gpt-4o-mini', 10, org_id => 'o1')$$, '42704',
                 'organization "o1" does not exist',
                 'admission in an org_id that is no organization is refused as on a single node (080_org_admission admits in one)');

-- complete_request without user_id: the event's user is looked up first
-- (over every shard), then the row is locked by user and id.
SELECT event_id AS d7_id FROM analytics.start_request('d7', 'gpt-4o-mini', 50) \gset
SELECT status_out AS d7_status FROM analytics.complete_request(:d7_id, 'completed', 40, output_tokens => 5) \gset
SELECT is(:'d7_status'::text, 'completed', 'complete_request without user_id settles the request on the cluster');

-- Racing admissions of one user from both workers: 40 each, one at a
-- time per connection, each delegated to the worker holding the user.  The
-- free plan admits 50 requests a day.
\setenv UA_BINDIR :bindir
\setenv UA_W1 :worker1_port
\setenv UA_W2 :worker2_port
\setenv UA_DB :DBNAME
\setenv UA_SCRATCH :scratch
\! for w in "$UA_W1" "$UA_W2"; do (for i in $(seq 40); do echo "SELECT allowed FROM analytics.start_request('racer', 'gpt-4o-mini', 10);"; done | "$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$w" -d "$UA_DB" >"$UA_SCRATCH/race.$w" 2>&1) & done; wait
-- (\gset first: a query on one user's rows alone is pushed whole to its shard.)
SELECT count(*) FILTER (WHERE status = 'pending') AS racer_admitted,
       count(*) FILTER (WHERE status = 'rejected') AS racer_rejected
  FROM analytics.chat_events WHERE user_id = 'racer' \gset
SELECT is(:racer_admitted, 50, 'racing admissions from both workers admit exactly the limit (50 of 80)');
SELECT is(:racer_rejected, 30, 'and log the 30 others as rejected');
\! cat "$UA_SCRATCH/race.$UA_W1" "$UA_SCRATCH/race.$UA_W2" | sort | uniq -c | sed 's/^/# race: /'

-- The same race with a third racer on the coordinator, each of its calls
-- in a transaction block (not delegated: the lock is taken on the user's
-- worker by statements of that transaction).
\setenv UA_COORD :coordinator_port
\! for w in "$UA_W1" "$UA_W2"; do (for i in $(seq 40); do echo "SELECT allowed FROM analytics.start_request('racer2', 'gpt-4o-mini', 10);"; done | "$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$w" -d "$UA_DB" >"$UA_SCRATCH/race2.$w" 2>&1) & done; (for i in $(seq 40); do echo "BEGIN; SELECT allowed FROM analytics.start_request('racer2', 'gpt-4o-mini', 10); COMMIT;"; done | "$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_COORD" -d "$UA_DB" >"$UA_SCRATCH/race2.coord" 2>&1) & wait
SELECT count(*) FILTER (WHERE status = 'pending') AS racer2_admitted,
       count(*) FILTER (WHERE status = 'rejected') AS racer2_rejected
  FROM analytics.chat_events WHERE user_id = 'racer2' \gset
SELECT is(:racer2_admitted, 50, 'racing admissions from both workers and coordinator transaction blocks admit exactly the limit (50 of 120)');
SELECT is(:racer2_rejected, 70, 'and log the 70 others as rejected');
\! cat "$UA_SCRATCH/race2.$UA_W1" "$UA_SCRATCH/race2.$UA_W2" "$UA_SCRATCH/race2.coord" | sort | uniq -c | sed 's/^/# race2: /'

SELECT * FROM finish();
