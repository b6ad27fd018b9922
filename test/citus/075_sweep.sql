-- The fold's threshold sweep on the cluster (issue 16): two transactions
-- that reach a threshold together, each seeing only what committed before
-- it, both see it unreached; the fold that folds their events then sees
-- the sum and writes the notification, once.  Both writers run on a
-- worker, in transaction blocks held open together.

SELECT plan(5);

INSERT INTO analytics.plans (plan_id, name, monthly_request_limit)
VALUES ('sweep10', 'Sweep ten', 10);
SELECT analytics.subscribe('sw1', 'sweep10', now() - interval '1 hour') IS NOT NULL AS ok \gset
-- Six requests committed: 60 % of the month's ten.
SELECT count(analytics.record_chat_event(user_id => 'sw1', model => 'gpt-4o-mini', input_tokens => 1,
                                         output_tokens => 1)) AS ok
  FROM generate_series(1, 6) \gset
SELECT analytics.fold() >= 6 AS ok \gset

-- Two writers, one request each, both open before either commits: each
-- sees 7 of 10; together they make 8, the 80 % threshold.
\setenv UA_PSQL :bindir/psql
\setenv UA_DB :DBNAME
\setenv UA_W1 :worker1_port
\setenv UA_SCRATCH :scratch
\! rm -f "$UA_SCRATCH"/sweep-writer-*.done
\! ("$UA_PSQL" -X -q -h 127.0.0.1 -p "$UA_W1" -d "$UA_DB" -c "BEGIN; SELECT analytics.record_chat_event(user_id => 'sw1', model => 'gpt-4o-mini', input_tokens => 1, output_tokens => 1); SELECT pg_sleep(4); COMMIT;" >/dev/null 2>&1; touch "$UA_SCRATCH"/sweep-writer-1.done) >/dev/null 2>&1 &
\! ("$UA_PSQL" -X -q -h 127.0.0.1 -p "$UA_W1" -d "$UA_DB" -c "BEGIN; SELECT analytics.record_chat_event(user_id => 'sw1', model => 'gpt-4o-mini', input_tokens => 1, output_tokens => 1); SELECT pg_sleep(4); COMMIT;" >/dev/null 2>&1; touch "$UA_SCRATCH"/sweep-writer-2.done) >/dev/null 2>&1 &
\! for i in $(seq 1 300); do [ -f "$UA_SCRATCH"/sweep-writer-1.done ] && [ -f "$UA_SCRATCH"/sweep-writer-2.done ] && break; sleep 0.1; done

-- Values are read first (\gset): a pgTAP call around a query of one
-- user's rows would be routed to that user's worker with it.
SELECT sum(requests) AS counted FROM analytics.usage_counters WHERE user_id = 'sw1' \gset
SELECT count(*) AS before_fold FROM analytics.notifications WHERE user_id = 'sw1' \gset
SELECT analytics.fold() AS folded \gset
SELECT COALESCE(string_agg(limit_name || ' ' || threshold || ' ' || used, ', '), '') AS written
  FROM analytics.notifications WHERE user_id = 'sw1' \gset
SELECT analytics.fold() AS ok \gset
SELECT count(*) AS after_next FROM analytics.notifications WHERE user_id = 'sw1' \gset

SELECT is(:counted::numeric, 8::numeric, 'both writers committed: 8 of 10 requests');
SELECT is(:before_fold::bigint, 0::bigint, 'neither writer saw the 80 % threshold (each saw 7 of 10)');
SELECT is(:folded::bigint, 2::bigint, 'the fold folds their two requests');
SELECT is(:'written'::text, 'monthly_requests 0.8 8', 'and its sweep writes the 80 % notification');
SELECT is(:after_next::bigint, 1::bigint, 'once: a later fold writes no other');

SELECT * FROM finish();
