-- Citus smoke test: the baseline of issue 16 on a real coordinator + 2 workers.
--
-- Run by tools/citus-test.sh on the coordinator, after CREATE EXTENSION
-- usage_analytics there (and pg_cron, pgtap); autocommit, psql with
-- ON_ERROR_STOP=0, the cluster is thrown away afterwards.  Checks 1-3: the
-- cluster, the propagated install, pg_cron on the coordinator.  Then a
-- populated install (50 events, folded) is distributed: analytics.
-- distribute(), the data kept, the write path and a dashboard on the
-- distributed install.
-- The next files run on the cluster this one distributed.

SELECT plan(13);

-- 1-3: the cluster as the script built it (pass today).
SELECT is((SELECT count(*)::int FROM pg_dist_node
            WHERE groupid > 0 AND isactive AND noderole = 'primary'),
          2, 'two active workers');
SELECT is((SELECT array_agg(result ORDER BY nodeport)
             FROM run_command_on_workers(
                    $$SELECT extversion FROM pg_extension WHERE extname = 'usage_analytics'$$)),
          array_fill((SELECT extversion FROM pg_extension WHERE extname = 'usage_analytics'),
                     ARRAY[2]),
          'CREATE EXTENSION on the coordinator installed the same version on both workers');
SELECT cmp_ok(pg_temp.try($$SELECT count(*)::text FROM analytics.schedule_jobs()$$), '~', '^[1-9][0-9]*$',
              'schedule_jobs() schedules the jobs with pg_cron on the coordinator');
SELECT count(cron.unschedule(jobid)) = 0 AS none_left FROM cron.job \gset

-- 4-10: one call distributes the extension, and the write path lands in
-- the shards (issue 16).
-- A populated install: 50 events of 7 users, folded, before distribute().
SELECT count(analytics.record_chat_event(user_id => 'pre' || (i % 7), model => 'gpt-4o-mini',
                                         input_tokens => i, output_tokens => 1, session_id => 's' || i))
  FROM generate_series(1, 50) i \gset
SELECT analytics.fold() AS folded \gset

SELECT has_function('analytics', 'distribute', ARRAY[]::name[],
                    'analytics.distribute() exists');
SELECT is(pg_temp.try($$SELECT analytics.distribute()::text$$) !~ '^ERROR', true,
          'analytics.distribute() distributes the installed extension');

SELECT ok((SELECT count(*) = 2 AND count(DISTINCT colocationid) = 1
                  AND count(DISTINCT column_to_column_name(logicalrelid, partkey)) = 1
             FROM pg_dist_partition
            WHERE logicalrelid IN ('analytics.chat_events'::regclass,
                                   'analytics.usage_counters'::regclass)
              AND partmethod = 'h'),
          'chat_events and usage_counters hash-distributed on one column, colocated');
SELECT is((SELECT count(*)::int FROM pg_dist_partition
            WHERE logicalrelid IN ('analytics.plans'::regclass, 'analytics.model_prices'::regclass)
              AND partmethod = 'n' AND repmodel = 't'),
          2, 'plans and model_prices are reference tables');

SELECT is((SELECT array[count(*), sum(input_tokens)]::bigint[] FROM analytics.chat_events WHERE user_id LIKE 'pre%'),
          '{50,1275}'::bigint[], 'the events recorded before distribute() are all in the distributed log');
SELECT is((SELECT array[sum(requests), sum(input_tokens)]::bigint[] FROM analytics.usage_counters WHERE user_id LIKE 'pre%'),
          '{50,1275}'::bigint[], 'and so are their counters');
SELECT is(pg_temp.try($$SELECT analytics.user_period_sessions('pre1', '-infinity', 'infinity')::text$$), '8',
          'a read over the folded events answers from the raw log after distribute() (rollups emptied)');

-- The write path: the event must be in a shard, not in the coordinator's
-- shell table (where the direct heap insert put it before issue 16).
SELECT diag('record_chat_event: ',
            pg_temp.try($$SELECT analytics.record_chat_event(user_id => 'citus_u1', model => 'gpt-4o-mini',
                            input_tokens => 100, output_tokens => 10, request_id => 'smoke-1')::text$$));
SELECT is(pg_temp.try($$SELECT sum(result::bigint)::text
                          FROM run_command_on_shards('analytics.chat_events',
                                 $q$SELECT count(*) FROM %s WHERE user_id = 'citus_u1'$q$)$$),
          '1', 'record_chat_event lands in a shard of chat_events');
SELECT is(pg_temp.try($$SELECT COALESCE(sum(requests), 0)::text FROM analytics.usage_counters
                         WHERE user_id = 'citus_u1'$$),
          pg_temp.try($$SELECT count(*)::text FROM analytics.chat_events WHERE user_id = 'citus_u1'$$),
          'the counters equal the raw log');
SELECT is(pg_temp.try($$SELECT (analytics.user_dashboard('citus_u1') IS NOT NULL)::text$$), 'true',
          'user_dashboard answers on the cluster');

SELECT * FROM finish();
