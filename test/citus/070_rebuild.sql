-- rebuild_rollups on the distributed install (issue 16), on the cluster the
-- earlier files filled: the counters are recomputed from the raw log on
-- the coordinator, a counter change per user and day routed to its shard,
-- and the rollups refolded from the folded (marked) events; afterwards
-- counters and rollups equal the raw log and the summaries their sources.

SELECT plan(4);

SELECT analytics.fold() \gset
SELECT sum(requests) AS requests_before FROM analytics.usage_counters \gset
SELECT ok(analytics.rebuild_rollups((SELECT min(usage_date) FROM analytics.chat_events),
                                    (SELECT max(usage_date) FROM analytics.chat_events)) > 0,
          'rebuild_rollups refolds the folded events on the cluster');
SELECT is((SELECT sum(requests) FROM analytics.usage_counters), :'requests_before'::numeric,
          'the rebuilt counters hold the same requests');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'verify_rollups is empty after the rebuild');
SELECT analytics.refresh_all_views() \gset
SELECT is((SELECT count(*) FROM ((TABLE analytics.mv_user_monthly_summary EXCEPT TABLE analytics.user_monthly_summary_source)
                           UNION ALL (TABLE analytics.user_monthly_summary_source EXCEPT TABLE analytics.mv_user_monthly_summary)) x),
          0::bigint, 'the refreshed user summary equals its source');

SELECT * FROM finish();
