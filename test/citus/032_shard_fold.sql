-- The fold per shard, where the shard lives (issue 16).  fold() on the
-- coordinator claims nothing itself: on every node that holds shards of
-- chat_events it calls analytics.fold_node(h), which folds each local shard
-- (claim by sign, aggregation, the user-keyed rollups on the colocated
-- shard tables, the others through Citus) in a transaction of its own and
-- records it in that node's fold_shard_state; fold_shards() on the
-- coordinator lists each shard's last fold with the node it ran on.
-- Exactly once per shard, also after citus_move_shard_placement of a shard
-- holding unfolded events, and when one shard's fold fails (the others
-- commit theirs, the failed one keeps its events for the next fold); the
-- rollups equal the log.

SELECT plan(25);

SELECT has_function('analytics', 'fold_shards', ARRAY[]::text[], 'analytics.fold_shards() exists');

-- Events of 40 users, spread over the shards of both workers.
SELECT count(analytics.record_chat_event(user_id => 'sf' || i, model => 'gpt-4o-mini',
                                         input_tokens => i, output_tokens => 1,
                                         document_id => 'sfdoc' || (i % 3),
                                         query_intent => 'search')) AS n
  FROM generate_series(1, 40) i \gset
SELECT count(*) AS unfolded FROM analytics.chat_events
 WHERE status IN ('completed', 'failed') AND recorded_xid >= 0 \gset
SELECT analytics.fold() AS folded \gset
SELECT is(:folded::bigint, :unfolded::bigint, 'fold() folds every finished event not yet folded');

-- The last fold of each shard: the shard's node, the claim, the events.
CREATE TEMP TABLE last_fold AS
  SELECT s.* FROM analytics.fold_shards() s;
SELECT is((SELECT count(*)::int FROM last_fold),
          (SELECT count(*)::int FROM pg_dist_shard WHERE logicalrelid = 'analytics.chat_events'::regclass),
          'fold_shards() lists every shard of chat_events');
SELECT is((SELECT count(*)::int FROM last_fold f
             JOIN pg_dist_placement p ON p.shardid = f.shard_id
             JOIN pg_dist_node n ON n.groupid = p.groupid
            WHERE f.node = n.nodename || ':' || n.nodeport),
          (SELECT count(*)::int FROM last_fold),
          'each shard''s last fold ran on the node that holds the shard');
SELECT is((SELECT count(DISTINCT node)::int FROM last_fold WHERE events > 0), 2,
          'both workers folded events');
SELECT is((SELECT count(*)::int FROM last_fold WHERE node = '127.0.0.1:' || :coordinator_port), 0,
          'no shard was folded on the coordinator');
SELECT is((SELECT count(DISTINCT claim)::int FROM last_fold), 1, 'one claim value (the coordinator''s xid) for every shard');
SELECT is((SELECT sum(events) FROM last_fold), :folded::numeric,
          'the events folded on the shards sum to fold()''s count');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0, 'verify_rollups is empty after the fold');
SELECT is((SELECT sum(requests) FROM analytics.rollup_system_models),
          (SELECT count(*) FROM analytics.chat_events WHERE status IN ('completed', 'failed'))::numeric,
          'the system rollup (a reference table, written from the shards'' folds) counts every event once');

-- A shard holding unfolded events moves to the other worker; more events
-- are recorded after the move.  The next fold runs there, once.
SELECT analytics.record_chat_event(user_id => 'sfm', model => 'gpt-4o', input_tokens => 3, output_tokens => 1,
                                   document_id => 'sfmdoc') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'sfm', model => 'gpt-4o', input_tokens => 4, output_tokens => 1,
                                   document_id => 'sfmdoc') > 0 AS ok \gset
SELECT p.shardid AS mv_shard, n.nodeport AS mv_from,
       CASE WHEN n.nodeport = :worker1_port THEN :worker2_port ELSE :worker1_port END AS mv_to
  FROM pg_dist_placement p JOIN pg_dist_node n ON n.groupid = p.groupid
 WHERE p.shardid = get_shard_id_for_distribution_column('analytics.chat_events', 'sfm') \gset
SELECT citus_move_shard_placement(:mv_shard, '127.0.0.1', :mv_from, '127.0.0.1', :mv_to,
                                  shard_transfer_mode => 'block_writes') IS NULL AS ok \gset
SELECT analytics.record_chat_event(user_id => 'sfm', model => 'gpt-4o', input_tokens => 5, output_tokens => 1,
                                   document_id => 'sfmdoc') > 0 AS ok \gset
SELECT is(analytics.fold(), 3::bigint, 'after the move the next fold folds sfm''s three events');
SELECT is((SELECT node FROM analytics.fold_shards() WHERE shard_id = :mv_shard), '127.0.0.1:' || :mv_to,
          'the moved shard''s fold ran on its new node');
SELECT is((SELECT events FROM analytics.fold_shards() WHERE shard_id = :mv_shard), 3::bigint,
          'and folded its three events there');
SELECT sum(requests) AS sfm_requests FROM analytics.rollup_user_models WHERE user_id = 'sfm' \gset
SELECT is(:sfm_requests::numeric, 3::numeric, 'sfm''s rollups count its events once');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0, 'verify_rollups is empty after the move');
SELECT is(analytics.fold(), 0::bigint, 'a second fold folds nothing');

-- One shard's fold fails (a rollup row of sfx1 tampered so that merging
-- its conversation overflows): the other worker's shards commit their
-- folds, sfx1's shard keeps its events and its older record; once the row
-- is put back the next fold folds them, once.
SELECT analytics.record_chat_event(user_id => 'sfx1', model => 'gpt-4o', input_tokens => 3, output_tokens => 1,
                                   conversation_id => 'cx') > 0 AS ok \gset
SELECT analytics.fold() AS ok \gset
SELECT get_shard_id_for_distribution_column('analytics.chat_events', 'sfx1') AS x_shard \gset
SELECT u AS other FROM (SELECT 'sf' || i AS u FROM generate_series(1, 40) i) x
 WHERE (SELECT p.groupid FROM pg_dist_placement p
         WHERE p.shardid = get_shard_id_for_distribution_column('analytics.chat_events', x.u))
    <> (SELECT p.groupid FROM pg_dist_placement p WHERE p.shardid = :x_shard)
 LIMIT 1 \gset
SELECT tokens_total::text AS x_tokens FROM analytics.rollup_conversations WHERE user_id = 'sfx1' \gset
UPDATE analytics.rollup_conversations SET tokens_total = ARRAY[9223372036854775807]::bigint[] WHERE user_id = 'sfx1';
SELECT claim AS x_claim FROM analytics.fold_shards() WHERE shard_id = :x_shard \gset
SELECT analytics.record_chat_event(user_id => 'sfx1', model => 'gpt-4o', input_tokens => 4, output_tokens => 1,
                                   conversation_id => 'cx') > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => :'other', model => 'gpt-4o', input_tokens => 4, output_tokens => 1) > 0 AS ok \gset
SET client_min_messages = error;
SELECT analytics.fold() AS partial \gset
SET client_min_messages = warning;
SELECT ok(:partial >= 1, 'a fold while one shard''s fold fails folds the other shards'' events');
SELECT count(*) AS x_unfolded FROM analytics.chat_events WHERE user_id = 'sfx1' AND recorded_xid >= 0 \gset
SELECT is(:x_unfolded::bigint, 1::bigint, 'the failed shard''s claim rolled back with its fold: sfx1''s event is unfolded');
SELECT count(*) AS o_unfolded FROM analytics.chat_events WHERE user_id = :'other' AND recorded_xid >= 0 \gset
SELECT is(:o_unfolded::bigint, 0::bigint, 'the event on the other worker is folded');
SELECT is((SELECT claim FROM analytics.fold_shards() WHERE shard_id = :x_shard), :x_claim::bigint,
          'the failed shard keeps the record of its last successful fold');
UPDATE analytics.rollup_conversations SET tokens_total = :'x_tokens'::bigint[] WHERE user_id = 'sfx1';
SELECT is(analytics.fold(), 1::bigint, 'the next fold folds the failed shard''s event');
SELECT is((SELECT count(*)::int FROM analytics.verify_rollups()), 0,
          'verify_rollups is empty: every event folded exactly once');

-- fold()'s own transaction fails after the shards' folds committed (the
-- API requests' fold, on the coordinator, overflows a tampered rollup): the
-- chat events stay folded once, and their user-month and document are in
-- summary_changes for the next refresh.
INSERT INTO analytics.organizations (org_id, name, slug) VALUES ('sfapi', 'SF API', 'sfapi');
SELECT analytics.record_api_request('sfapi', '/v1/x', 'GET', 200, billable_units => 1) > 0 AS ok \gset
SELECT analytics.fold() >= 0 AS ok \gset
SELECT analytics.refresh_all_views() IS NULL AS ok \gset
UPDATE analytics.rollup_api_daily SET billable_units = 9223372036854775807 WHERE org_id = 'sfapi';
SELECT analytics.record_api_request('sfapi', '/v1/x', 'GET', 200, billable_units => 1) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'sfs', model => 'gpt-4o', input_tokens => 3, output_tokens => 1,
                                   document_id => 'sfsdoc') > 0 AS ok \gset
SET client_min_messages = error;
SELECT throws_ok('SELECT analytics.fold()', '22003', NULL,
                 'fold() fails when its own part (the API requests'' fold) fails after the shards folded');
SET client_min_messages = warning;
SELECT count(*) AS sfs_folded FROM analytics.chat_events WHERE user_id = 'sfs' AND recorded_xid < 0 \gset
SELECT is(:sfs_folded::bigint, 1::bigint, 'the chat event folded on its shard stays folded');
SELECT is((SELECT count(*)::int FROM analytics.summary_changes
            WHERE user_id = 'sfs' OR document_id = 'sfsdoc'), 2,
          'its user-month and document are in summary_changes for the next refresh');
UPDATE analytics.rollup_api_daily SET billable_units = 1 WHERE org_id = 'sfapi';

SELECT * FROM finish();
