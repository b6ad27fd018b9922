-- The fold on the distributed install (issue 16), on the cluster 000_smoke
-- distributed: fold() claims the finished events not yet folded by making
-- their recorded_xid negative (every node's watermark stays 0) and folds
-- exactly those, in one distributed transaction.  Exactly once: the rollups
-- equal the raw log (verify_rollups empty, totals), a second fold adds
-- nothing, events recorded between folds, by concurrent writers on the
-- coordinator and on a worker, and after citus_move_shard_placement are
-- folded once; reads give the same answers before and after a fold; the
-- fold is one pg_cron job on the coordinator (a worker refuses); API
-- requests are folded the same way; generate_invoices folds first and
-- invoices on the cluster.

SELECT plan(35);

-- What a read says before the fold (the events are the unfolded tail) ...
SELECT analytics.record_chat_event(user_id => 'f1', model => 'gpt-4o-mini', input_tokens => 100, output_tokens => 10,
                                   session_id => 's1', conversation_id => 'k1', document_id => 'doc1',
                                   response_time_ms => 120, query_intent => 'search') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'f1', model => 'gpt-4o', input_tokens => 200, output_tokens => 20,
                                   session_id => 's2', conversation_id => 'k2', document_id => 'doc2',
                                   response_time_ms => 340) > 0 AS ok \gset
BEGIN;
SELECT analytics.record_chat_event(user_id => 'f2', model => 'gpt-4o-mini', input_tokens => 5, output_tokens => 1,
                                   document_id => 'doc1') > 0 AS ok \gset
COMMIT;
SELECT analytics.user_dashboard('f1')::text AS dash_before \gset
SELECT analytics.user_period_sessions('f1', '-infinity', 'infinity') AS sess_before \gset

SELECT count(*) AS unfolded FROM analytics.chat_events
 WHERE status IN ('completed', 'failed') AND recorded_xid >= 0 \gset
SELECT is(analytics.fold(), :unfolded::bigint, 'the fold folds every finished event not yet folded');
SELECT is((SELECT count(*) FROM analytics.chat_events
            WHERE status IN ('completed', 'failed') AND recorded_xid >= 0), 0::bigint,
          'every finished event is marked folded (recorded_xid below 0)');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0, 'verify_rollups is empty after the fold');
SELECT is((SELECT sum(requests) FROM analytics.rollup_user_models),
          (SELECT count(*) FROM analytics.chat_events WHERE status IN ('completed', 'failed'))::numeric,
          'rollup_user_models (distributed) counts every finished event once');
SELECT is((SELECT sum(requests) FROM analytics.rollup_system_models),
          (SELECT count(*) FROM analytics.chat_events WHERE status IN ('completed', 'failed'))::numeric,
          'rollup_system_models (reference) counts every finished event once');
SELECT is(analytics.fold(), 0::bigint, 'a second fold folds nothing');
SELECT is((SELECT sum(requests) FROM analytics.rollup_documents WHERE document_id = 'doc1'), 2::numeric,
          'rollup_documents (reference) sums the document''s events of both users once');

-- ... and after it (rollups plus an empty tail): the same answers.
SELECT analytics.user_dashboard('f1')::text AS dash_after \gset
SELECT is(:'dash_after'::text, :'dash_before'::text, 'user_dashboard (rollups and the unfolded tail) answers the same after the fold');
SELECT is(analytics.user_period_sessions('f1', '-infinity', 'infinity'), :'sess_before'::bigint,
          'user_period_sessions answers the same after the fold');

-- Events recorded between folds, delegated and coordinator-side: folded once.
SELECT analytics.record_chat_event(user_id => 'f1', model => 'gpt-4o-mini', input_tokens => 1, output_tokens => 1) > 0 AS ok \gset
BEGIN;
SELECT analytics.record_chat_event(user_id => 'f3', model => 'gpt-4o-mini', input_tokens => 1, output_tokens => 1) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'f4', model => 'gpt-4o-mini', input_tokens => 1, output_tokens => 1) > 0 AS ok \gset
COMMIT;
SELECT event_id AS pend_id FROM analytics.start_request('f5', 'gpt-4o-mini', 50) \gset
SELECT is(analytics.fold(), 3::bigint, 'the next fold folds the three events recorded since, not the pending one');
SELECT status_out AS f5_status FROM analytics.complete_request(:pend_id, 'completed', 40, output_tokens => 5,
                                                               user_id => 'f5') \gset
SELECT is(analytics.fold(), 1::bigint, 'the settled request is folded by the fold after it');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0, 'verify_rollups is empty');

-- Concurrent writers (delegated through the coordinator, and on a worker)
-- while the coordinator folds again and again.
\setenv UA_PSQL :bindir/psql
\setenv UA_DB :DBNAME
\setenv UA_COORD :coordinator_port
\setenv UA_W1 :worker1_port
\setenv UA_SCRATCH :scratch
\! rm -f "$UA_SCRATCH"/fold-writer-*.done
\! (for i in $(seq 1 40); do "$UA_PSQL" -X -q -h 127.0.0.1 -p "$UA_COORD" -d "$UA_DB" -c "SELECT analytics.record_chat_event(user_id => 'cw' || ($i % 7), model => 'gpt-4o-mini', input_tokens => $i, output_tokens => 1, document_id => 'cdoc')" >/dev/null 2>&1; done; touch "$UA_SCRATCH"/fold-writer-1.done) >/dev/null 2>&1 &
\! (for i in $(seq 1 40); do "$UA_PSQL" -X -q -h 127.0.0.1 -p "$UA_W1" -d "$UA_DB" -c "BEGIN; SELECT analytics.record_chat_event(user_id => 'ww' || ($i % 5), model => 'gpt-4o', input_tokens => $i, output_tokens => 2); COMMIT;" >/dev/null 2>&1; done; touch "$UA_SCRATCH"/fold-writer-2.done) >/dev/null 2>&1 &
SELECT analytics.fold() >= 0 AS ok \gset
SELECT pg_sleep(0.3) \gset
SELECT analytics.fold() >= 0 AS ok \gset
SELECT pg_sleep(0.3) \gset
SELECT analytics.fold() >= 0 AS ok \gset
SELECT pg_sleep(0.3) \gset
SELECT analytics.fold() >= 0 AS ok \gset
\! for i in $(seq 1 600); do [ -f "$UA_SCRATCH"/fold-writer-1.done ] && [ -f "$UA_SCRATCH"/fold-writer-2.done ] && break; sleep 0.1; done
SELECT analytics.fold() >= 0 AS ok \gset
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE user_id LIKE 'cw%' OR user_id LIKE 'ww%'), 80::bigint,
          'both concurrent writers recorded their 40 events');
SELECT is((SELECT sum(requests) FROM analytics.rollup_user_models WHERE user_id LIKE 'cw%' OR user_id LIKE 'ww%'),
          80::numeric, 'each of them is folded exactly once');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0, 'verify_rollups is empty after the race');

-- A shard move: a user's shard group (events, rollups, counters) goes to
-- the other worker with events not yet folded; more are recorded there.
SELECT analytics.record_chat_event(user_id => 'mv1', model => 'gpt-4o-mini', input_tokens => 7, output_tokens => 1,
                                   document_id => 'mdoc') > 0 AS ok \gset
SELECT analytics.fold() >= 1 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'mv1', model => 'gpt-4o-mini', input_tokens => 8, output_tokens => 1,
                                   document_id => 'mdoc') > 0 AS ok \gset
SELECT p.shardid AS mv_shard, n.nodeport AS mv_from,
       CASE WHEN n.nodeport = :worker1_port THEN :worker2_port ELSE :worker1_port END AS mv_to
  FROM pg_dist_placement p JOIN pg_dist_node n ON n.groupid = p.groupid
 WHERE p.shardid = get_shard_id_for_distribution_column('analytics.chat_events', 'mv1') \gset
SELECT citus_move_shard_placement(:mv_shard, '127.0.0.1', :mv_from, '127.0.0.1', :mv_to,
                                  shard_transfer_mode => 'block_writes') IS NULL AS ok \gset
SELECT n.nodeport AS mv_now FROM pg_dist_placement p JOIN pg_dist_node n ON n.groupid = p.groupid
 WHERE p.shardid = :mv_shard \gset
SELECT is(:mv_now, :mv_to, 'the shard of chat_events holding mv1 moved to the other worker');
SELECT analytics.record_chat_event(user_id => 'mv1', model => 'gpt-4o-mini', input_tokens => 9, output_tokens => 1,
                                   document_id => 'mdoc') > 0 AS ok \gset
BEGIN;
SELECT analytics.record_chat_event(user_id => 'mv1', model => 'gpt-4o-mini', input_tokens => 10, output_tokens => 1,
                                   document_id => 'mdoc') > 0 AS ok \gset
COMMIT;
SELECT is(analytics.fold(), 3::bigint, 'after the move the fold folds the three unfolded events of mv1 once');
SELECT sum(requests) AS mv1_requests FROM analytics.rollup_user_models WHERE user_id = 'mv1' \gset
SELECT is(:mv1_requests::numeric, 4::numeric, 'mv1''s rollups count its four events once');
SELECT is((SELECT sum(requests) FROM analytics.rollup_documents WHERE document_id = 'mdoc'), 4::numeric,
          'and so does the document rollup (a reference table)');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0, 'verify_rollups is empty after the move');
SELECT is((SELECT sum(requests) FROM analytics.rollup_system_models),
          (SELECT count(*) FROM analytics.chat_events WHERE status IN ('completed', 'failed'))::numeric,
          'the system rollup counts every finished event of the cluster once');

-- The folds are named by the coordinator's transaction ids: a worker refuses.
SELECT is((SELECT string_agg(DISTINCT CASE WHEN w.success THEN 'ran: ' || w.result ELSE w.result END, '; ')
             FROM run_command_on_workers('SELECT analytics.fold()') w),
          'ERROR:  on a Citus cluster analytics.fold() runs on the coordinator',
          'fold() on a worker refuses (55000): the fold runs on the coordinator');
SELECT is((SELECT unfolded_events FROM analytics.fold_lag_status()), 0::bigint,
          'fold_lag_status: nothing left unfolded');

-- One pg_cron job folds the cluster (on the coordinator).
SELECT is((SELECT count(*)::int FROM analytics.schedule_jobs() j WHERE j.job_name = 'usage_analytics_fold'), 1,
          'schedule_jobs() schedules the fold job');
SELECT is((SELECT command FROM cron.job WHERE jobname = 'usage_analytics_fold'), 'SELECT analytics.fold()',
          'one job, SELECT analytics.fold(), on the coordinator');
SELECT analytics.unschedule_jobs() >= 1 AS ok \gset

-- API requests (distributed by org_id) are claimed and folded the same way:
-- the API meters of invoices read their rollups.
INSERT INTO analytics.organizations (org_id, name, slug) VALUES ('apiorg', 'API org', 'apiorg');
SELECT analytics.record_api_request('apiorg', '/v1/x', 'GET', 200, billable_units => 2) > 0 AS ok \gset
SELECT analytics.record_api_request('apiorg', '/v1/x', 'GET', 500, billable_units => 1) > 0 AS ok \gset
BEGIN;
SELECT analytics.record_api_request('apiorg', '/v1/y', 'POST', 201, billable_units => 4) > 0 AS ok \gset
COMMIT;
SELECT analytics.fold() >= 0 AS ok \gset
SELECT is((SELECT count(*) FROM analytics.api_requests WHERE recorded_xid >= 0), 0::bigint,
          'every API request is marked folded');
SELECT sum(requests) AS api_requests, sum(billable_units) AS api_units
  FROM analytics.rollup_api_daily WHERE org_id = 'apiorg' \gset
SELECT is(:'api_requests'::numeric || '/' || :'api_units'::numeric, '3/7',
          'rollup_api_daily holds the organization''s 3 requests and 7 billable units once');
SELECT is(analytics.fold(), 0::bigint, 'a fold after it folds nothing');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0, 'verify_rollups (API rollups included) is empty');

-- Invoicing folds first, then invoices from the counters and rollups (the
-- invoices stay on the coordinator): a flat and a metered subscription.
INSERT INTO analytics.plans (plan_id, name, price_per_month, currency) VALUES ('cl_basic', 'Cluster basic', 1000, 'USD');
INSERT INTO analytics.plans (plan_id, name, price_per_month, included_units, overage_unit_price, currency)
  VALUES ('cl_metered', 'Cluster metered', 0, 1, 0.5, 'USD');
SELECT analytics.subscribe('bill1', 'cl_basic', '2026-10-01 00:00+00') AS bill1_sub \gset
SELECT analytics.subscribe('bill2', 'cl_metered', '2026-11-01 00:00+00') AS bill2_sub \gset
SELECT analytics.record_chat_event(user_id => 'bill2', model => 'gpt-4o-mini', input_tokens => 10, output_tokens => 1,
                                   occurred_at => '2026-11-10 12:00+00') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'bill2', model => 'gpt-4o-mini', input_tokens => 10, output_tokens => 1,
                                   occurred_at => '2026-11-11 12:00+00') > 0 AS ok \gset
BEGIN;
SELECT analytics.record_chat_event(user_id => 'bill2', model => 'gpt-4o-mini', input_tokens => 10, output_tokens => 1,
                                   occurred_at => '2026-11-12 12:00+00') > 0 AS ok \gset
COMMIT;
SELECT is(analytics.generate_invoices('2026-12-01 12:00+00'), 3,
          'generate_invoices runs on the cluster: two months of the flat plan, one of the metered');
SELECT is((SELECT count(*) FROM analytics.chat_events
            WHERE status IN ('completed', 'failed') AND recorded_xid >= 0), 0::bigint,
          'generate_invoices folded first');
SELECT is((SELECT total FROM analytics.invoices WHERE subscription_id = :bill2_sub), 1.00::numeric,
          'the metered invoice charges the 2 requests over the 1 included at 0.50');
SELECT is((SELECT count(*)::int FROM analytics.verify_invoices() v WHERE NOT v.matches), 0,
          'verify_invoices: the invoiced quantities match the counters and the log');
SELECT ok(analytics.finalize_invoice((SELECT invoice_id FROM analytics.invoices WHERE subscription_id = :bill2_sub)) IS NOT NULL,
          'finalize_invoice numbers the metered invoice');
SELECT is(analytics.generate_invoices('2026-12-01 12:00+00'), 0, 'a second generate_invoices makes none');

SELECT * FROM finish();
