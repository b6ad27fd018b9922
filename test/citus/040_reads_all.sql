-- Every read function and view of the extension on the distributed install
-- (issue 16), on the cluster 000_smoke distributed.  The read-your-writes
-- reads add the unfolded tail to the rollups: each answer equals what the
-- raw log gives.  The reads "as of the last fold" (rollups only) hold every
-- finished event after a fold, and the refreshed summaries equal their
-- sources.  No SQL-language function with parameters depends on a
-- distributed table.

SELECT plan(50);

-- ra1: three finished events (two models, one failed), two sessions, two
-- conversations, two documents, two intents; one pending and one rejected
-- request; ra2: one event.
SELECT analytics.record_chat_event(user_id => 'ra1', model => 'gpt-4o-mini', input_tokens => 100, output_tokens => 10,
         response_time_ms => 100, session_id => 's1', conversation_id => 'k1', document_id => 'doc1',
         query_intent => 'search', request_type => 'chat', user_query_length => 10, ai_response_length => 100) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'ra1', model => 'gpt-4o-mini', input_tokens => 200, output_tokens => 20,
         response_time_ms => 200, session_id => 's2', conversation_id => 'k1', document_id => 'doc2',
         query_intent => 'search', request_type => 'chat', user_query_length => 20, ai_response_length => 200) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'ra1', model => 'gpt-4o', input_tokens => 300, output_tokens => 30,
         response_time_ms => 300, status => 'failed', session_id => 's2', conversation_id => 'k2',
         query_intent => 'code', request_type => 'api', user_query_length => 30, ai_response_length => 300) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'ra2', model => 'gpt-4o-mini', input_tokens => 1000, output_tokens => 1) > 0 AS ok \gset
SELECT event_id > 0 AS ok FROM analytics.start_request('ra1', 'gpt-4o-mini', 10) \gset

-- What the raw log says (plain queries on one user's rows: routed).
SELECT count(*) AS log_n,
       sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens) AS log_tokens,
       count(*) FILTER (WHERE status = 'failed') AS log_failed,
       sum(cost) AS log_cost
  FROM analytics.chat_events WHERE user_id = 'ra1' AND status IN ('completed', 'failed') \gset
SELECT date_trunc('month', now())::date AS this_month, current_date AS today \gset
SELECT round(analytics.quantile(analytics.latency_sketch_agg(response_time_ms), 0.5))::int AS log_median
  FROM analytics.chat_events WHERE user_id = 'ra1' AND status IN ('completed', 'failed') \gset
SELECT count(*) FILTER (WHERE status IN ('completed', 'failed', 'pending')) AS log_today
  FROM analytics.chat_events WHERE user_id = 'ra1' AND usage_date = current_date \gset
SELECT sum(requests) AS counter_requests FROM analytics.usage_counters WHERE user_id = 'ra1' \gset
SELECT count(DISTINCT user_id) AS counter_users FROM analytics.usage_counters \gset

-- 1: the shape the reads rely on.
SELECT is((SELECT count(*)::int FROM pg_proc p
             JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'sql'
             JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                             AND d.refclassid = 'pg_class'::regclass
             JOIN pg_dist_partition dp ON dp.logicalrelid = d.refobjid
            WHERE p.pronamespace = 'analytics'::regnamespace AND p.pronargs > 0),
          0, 'no SQL-language function with parameters depends on a distributed table');

-- 2-22: the read functions.
SELECT is(pg_temp.try($$SELECT array[count(*), sum(request_count), sum(total_tokens)]::text
                          FROM analytics.get_user_token_breakdown('ra1')$$),
          format('{2,%s,%s}', :log_n, :log_tokens), 'get_user_token_breakdown: two models, the log''s requests and tokens');
SELECT is(pg_temp.try($$SELECT array[sum(requests), sum(failed), sum(tokens_total)]::text
                          FROM analytics.user_model_usage('ra1', '-infinity', 'infinity')$$),
          format('{%s,%s,%s}', :log_n, :log_failed, :log_tokens), 'user_model_usage equals the log');
SELECT is(pg_temp.try($$SELECT sum(cost)::text FROM analytics.user_model_usage('ra1', '-infinity', 'infinity')$$),
          :'log_cost', 'user_model_usage: the log''s cost');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.unfolded_events('ra1', '-infinity', 'infinity')$$),
          :'log_n', 'unfolded_events: the finished events');
SELECT is(pg_temp.try($$SELECT array[analytics.sketch_count(latency), analytics.sketch_sum(latency), feedback_count]::text
                          FROM analytics.user_period_latency('ra1', '-infinity', 'infinity')$$),
          '{3,600,0}', 'user_period_latency: three latencies, 600 ms');
SELECT is(pg_temp.try(format($$SELECT analytics.sketch_count(latency)::text
                          FROM analytics.user_months_latency('ra1', %L, %L)$$, :'this_month', :'this_month')),
          '3', 'user_months_latency: three latencies this month');
SELECT is(pg_temp.try($$SELECT array[conversation_count, document_count]::text
                          FROM analytics.user_period_distinct('ra1', '-infinity', 'infinity')$$),
          '{2,2}', 'user_period_distinct: two conversations, two documents');
SELECT is(pg_temp.try($$SELECT analytics.user_period_sessions('ra1', '-infinity', 'infinity')::text$$),
          '2', 'user_period_sessions: two sessions');
SELECT is(pg_temp.try($$SELECT array[avg_query_length, avg_response_length]::text
                          FROM analytics.user_period_lengths('ra1', '-infinity', 'infinity')$$),
          '{20,200}', 'user_period_lengths: average lengths');
SELECT is(pg_temp.try(format($$SELECT array[avg_query_length, avg_response_length]::text
                          FROM analytics.user_months_lengths('ra1', %L, %L)$$, :'this_month', :'this_month')),
          '{20,200}', 'user_months_lengths: average lengths this month');
SELECT is(pg_temp.try($$SELECT requests_by_intent::text || ' ' || requests_by_type::text
                          FROM analytics.user_period_labels('ra1', '-infinity', 'infinity')$$),
          '{"code": 1, "search": 2} {"api": 1, "chat": 2}', 'user_period_labels: requests by intent and type');
SELECT is(pg_temp.try(format($$SELECT limit_reached::text FROM analytics.user_month_limit('ra1', %L)$$, :'this_month')),
          'false', 'user_month_limit: no monthly limit reached');
SELECT is(pg_temp.try($$SELECT (d->'metrics'->>'totalRequests') || ' ' || (d->'metrics'->>'totalTokensUsed') || ' '
                               || (d->'metrics'->>'sessionsToday') || ' ' || jsonb_array_length(d->'recentRequests')
                          FROM analytics.user_dashboard('ra1') d$$),
          format('%s %s 2 4', :log_n, :log_tokens), 'user_dashboard: totals, sessions and recent requests from the log');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.get_user_request_history('ra1')$$),
          '4', 'get_user_request_history: the four requests (one pending)');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.get_user_request_history_before('ra1', 'infinity', 0, 10)$$),
          '4', 'get_user_request_history_before: the four requests');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.user_recent_activity(7) WHERE user_id = 'ra1'$$),
          '4', 'user_recent_activity: the user''s four requests');
SELECT is(pg_temp.try($$SELECT used::text FROM analytics.check_quota('ra1', 0)$$),
          :'log_today',
          'check_quota: today''s requests and the reservation');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.usage_snapshot('ra1', now())$$) !~ '^ERROR', true,
          'usage_snapshot answers');
SELECT is(pg_temp.try($$SELECT analytics.create_organization('ora', 'Org reads')$$), 'ora', 'an organization for the organization reads');
SELECT is(pg_temp.try($$SELECT (analytics.org_dashboard('ora') IS NOT NULL)::text$$), 'true', 'org_dashboard answers');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.api_endpoint_latency('ora', '2020-01-01', '2100-01-01')$$),
          '0', 'api_endpoint_latency answers (no API requests)');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.list_notifications()$$) !~ '^ERROR', true,
          'list_notifications answers');

-- 23-26: helpers of billing and identity that read the distributed tables.
SELECT is(pg_temp.try(format($$SELECT (analytics.subject_usage(NULL, 'ra1', %L, %L)->>'requests')$$,
                             :'this_month', (:'this_month'::date + interval '1 month')::date)),
          :'counter_requests',
          'subject_usage: the user''s requests from the counters');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.top_subjects_by_cost(current_date, current_date, 100)
                         WHERE subject_id = 'ra1'$$) !~ '^ERROR', true, 'top_subjects_by_cost answers');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.identity_org_ids()$$), '1', 'identity_org_ids answers');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.verify_rollups()$$), '0', 'verify_rollups is empty');

-- 27-40: the read-your-writes views (rollups plus the unfolded tail).
SELECT is(pg_temp.try(format($$SELECT array[message_count, conversation_count, document_count, session_count,
                                      median_response_time_ms, error_count, avg_query_length]::text
                          FROM analytics.user_daily_usage WHERE user_id = 'ra1' AND date = %L$$, :'today')),
          format('{3,2,2,2,%s,1,20}', :log_median), 'user_daily_usage: counts, distinct sets, sessions, median, errors, lengths');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.user_daily_usage$$) !~ '^ERROR', true,
          'user_daily_usage over every user answers');
SELECT is(pg_temp.try(format($$SELECT array_to_string(array[message_count::text, conversation_count::text,
                                      requests_by_intent::text, limit_reached::text], ' ')
                          FROM analytics.user_monthly_usage WHERE user_id = 'ra1' AND month = %L$$, :'this_month')),
          '3 2 {"code": 1, "search": 2} false', 'user_monthly_usage: counts, conversations, intents, limit');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.user_monthly_usage$$) !~ '^ERROR', true,
          'user_monthly_usage over every user answers');
SELECT is(pg_temp.try($$SELECT array[sum(request_count), sum(total_tokens)]::text
                          FROM analytics.user_monthly_model_usage WHERE user_id = 'ra1'$$),
          format('{%s,%s}', :log_n, :log_tokens), 'user_monthly_model_usage equals the log');
SELECT is(pg_temp.try($$SELECT total_requests || ' ' || failed_requests || ' ' || most_used_model || ' '
                               || (last_request_time IS NOT NULL)
                          FROM analytics.user_request_analytics WHERE user_id = 'ra1'$$),
          format('%s %s gpt-4o-mini true', :log_n, :log_failed), 'user_request_analytics: totals and most used model');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.user_request_analytics$$),
          :'counter_users', 'user_request_analytics: a row per user');
SELECT is(pg_temp.try($$SELECT message_count || ' ' || can_make_request FROM analytics.v_user_current_month
                         WHERE user_id = 'ra1'$$),
          format('%s true', :log_n), 'v_user_current_month: the month''s requests and the quota');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.v_user_recent_activity WHERE user_id = 'ra1'$$),
          '4', 'v_user_recent_activity: the user''s four requests');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.org_daily_usage$$) !~ '^ERROR', true, 'org_daily_usage answers');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.org_monthly_usage$$) !~ '^ERROR', true, 'org_monthly_usage answers');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.users_by_plan$$) !~ '^ERROR', true, 'users_by_plan answers');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.user_monthly_summary$$) !~ '^ERROR', true, 'user_monthly_summary answers');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.jobs$$) !~ '^ERROR', true, 'jobs answers');

-- 41-45: as of the last fold (rollups only): after a fold on the cluster
-- (030_fold), they hold every finished event.
SELECT analytics.fold() \gset
CREATE TEMP TABLE finished AS
SELECT * FROM analytics.chat_events WHERE status IN ('completed', 'failed');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.conversation_usage$$),
          (SELECT count(DISTINCT (user_id, conversation_id))::text FROM finished WHERE conversation_id IS NOT NULL),
          'conversation_usage: a row per user and conversation of the folded events');
SELECT is(pg_temp.try($$SELECT conversation_count::text FROM analytics.conversation_averages('-infinity')$$),
          (SELECT count(DISTINCT (user_id, conversation_id))::text FROM finished WHERE conversation_id IS NOT NULL),
          'conversation_averages: every conversation');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.document_usage$$),
          (SELECT count(DISTINCT (document_id, (occurred_at AT TIME ZONE 'UTC')::date))::text FROM finished WHERE document_id IS NOT NULL),
          'document_usage: a row per document and UTC day');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM analytics.system_daily_metrics$$),
          (SELECT count(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date)::text FROM finished),
          'system_daily_metrics: a row per UTC day');
SELECT is(pg_temp.try($$SELECT sum(request_count)::text FROM analytics.model_monthly_usage$$),
          (SELECT count(*)::text FROM finished), 'model_monthly_usage: every finished event');
-- The summaries, refreshed on the coordinator, equal their sources.
SELECT analytics.refresh_all_views() \gset
SELECT is(ARRAY[(SELECT count(*) FROM ((TABLE analytics.mv_user_monthly_summary EXCEPT TABLE analytics.user_monthly_summary_source)
                           UNION ALL (TABLE analytics.user_monthly_summary_source EXCEPT TABLE analytics.mv_user_monthly_summary)) x),
                (SELECT count(*) FROM ((TABLE analytics.mv_document_popularity EXCEPT TABLE analytics.document_popularity_source)
                           UNION ALL (TABLE analytics.document_popularity_source EXCEPT TABLE analytics.mv_document_popularity)) x),
                least((SELECT count(*) FROM analytics.mv_user_monthly_summary), 1)],
          ARRAY[0, 0, 1]::bigint[], 'refresh_all_views: the summary tables equal their sources');
SELECT is(pg_temp.try($$SELECT count(*)::text FROM (SELECT * FROM analytics.api_daily_summary UNION ALL SELECT * FROM analytics.api_daily_summary) s$$) !~ '^ERROR', true,
          'api_daily_summary answers');
SELECT is(pg_temp.try($$SELECT (SELECT count(*) FROM analytics.api_daily_usage) + (SELECT count(*) FROM analytics.widget_daily_usage)
                              + (SELECT count(*) FROM analytics.fold_lag) + (SELECT count(*) FROM analytics.job_failures)$$) !~ '^ERROR', true,
          'api_daily_usage, widget_daily_usage, fold_lag, job_failures answer');
SELECT is(pg_temp.try($$SELECT (SELECT count(*) FROM analytics.mv_user_monthly_summary) + (SELECT count(*) FROM analytics.mv_document_popularity)
                              + (SELECT count(*) FROM analytics.billing_mrr) + (SELECT count(*) FROM analytics.customer_lifetime_value)
                              + (SELECT count(*) FROM analytics.overdue_invoices) + (SELECT count(*) FROM analytics.revenue_by_plan_month)$$) !~ '^ERROR', true,
          'the summary tables and the billing views answer');

SELECT * FROM finish();
