-- Reads and jobs on the distributed install (issue 16), on the cluster
-- 000_smoke distributed: the read functions answer from the shards (the
-- SQL-language ones became PL/pgSQL in distribute()); those Citus still
-- cannot run fail loudly, never with an empty answer; the fold runs;
-- expire_reservations releases a reservation held on a worker.

SELECT plan(12);

SELECT analytics.record_chat_event(user_id => 'r1', model => 'gpt-4o-mini', input_tokens => 100, output_tokens => 10,
                                   session_id => 's1', conversation_id => 'c1') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'r1', model => 'gpt-4o-mini', input_tokens => 200, output_tokens => 20,
                                   session_id => 's2', conversation_id => 'c1') > 0 AS ok \gset

SELECT is((analytics.user_dashboard('r1') IS NOT NULL), true, 'user_dashboard answers');
SELECT is((SELECT count(*)::int FROM analytics.get_user_request_history('r1')), 2,
          'get_user_request_history lists the user''s two events');
SELECT ok((SELECT count(*) FROM analytics.user_recent_activity(10)) > 0, 'user_recent_activity answers');
SELECT is((SELECT count(*)::int FROM analytics.unfolded_events('r1', '-infinity', 'infinity')), 2,
          'unfolded_events (PL/pgSQL on the cluster) returns the user''s events');
SELECT is(analytics.user_period_sessions('r1', '-infinity', 'infinity'), 2::bigint,
          'user_period_sessions counts the two sessions');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0, 'verify_rollups is empty');

-- A query over a distributed table that calls a function reading another
-- one (every read: 040_reads_all).
SELECT is((SELECT sum(request_count)::int FROM analytics.get_user_token_breakdown('r1')), 2,
          'get_user_token_breakdown counts the user''s two events');

-- The fold runs on a cluster (030_fold has the rest): every node's
-- watermark stays 0, folded events are marked by a negative recorded_xid.
SELECT ok(analytics.fold() >= 2, 'the fold runs on a distributed install');
SELECT is((SELECT watermark FROM analytics.fold_state), 0::bigint,
          'the watermark stays 0 on a cluster: folded events have a negative recorded_xid');

-- expire_reservations: a pending request older than the TTL is expired
-- and its reservation released.
SELECT event_id AS pending_id FROM analytics.start_request('x1', 'gpt-4o-mini', 100) \gset
SELECT pg_sleep(1.2) \gset
SET usage_analytics.reservation_ttl = '1s';
SELECT ok(analytics.expire_reservations() >= 1, 'expire_reservations runs on the cluster');
RESET usage_analytics.reservation_ttl;
SELECT status AS x1_status FROM analytics.chat_events WHERE user_id = 'x1' \gset
SELECT is(:'x1_status'::text, 'expired', 'the pending request is expired');
SELECT sum(pending_requests)::int AS x1_pending FROM analytics.usage_counters WHERE user_id = 'x1' \gset
SELECT is(:x1_pending, 0, 'and its reservation released from the counters');

SELECT * FROM finish();
