-- user_request_analytics on the cluster (issue 16): the view distribute()
-- writes groups each table by user_id and joins on it, so Citus pushes the
-- whole query to the shards, and a filter on one user is routed to that
-- user's shard (one task, nothing collected on the coordinator first).  Its
-- rows equal the form it replaces (per-user totals of the counters, most
-- used model and provider from user_model_usage(), the last event), with
-- folded and unfolded events.

SELECT plan(7);

SET client_min_messages = error;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  t text := '';
BEGIN
  FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    t := t || r."QUERY PLAN" || E'\n';
  END LOOP;
  RETURN t;
END
$$;
SET client_min_messages = warning;

-- A user whose most used model is decided by events not folded yet.
SELECT analytics.record_chat_event(user_id => 'rq1', model => 'gpt-4o-mini', input_tokens => 10, output_tokens => 1) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'rq1', model => 'gpt-4o-mini', input_tokens => 10, output_tokens => 1) > 0 AS ok \gset
SELECT analytics.fold() >= 2 AS folded \gset
SELECT analytics.record_chat_event(user_id => 'rq1', model => 'gpt-4o', input_tokens => 10, output_tokens => 1) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'rq1', model => 'gpt-4o', input_tokens => 10, output_tokens => 1) > 0 AS ok \gset
SELECT analytics.record_chat_event(user_id => 'rq1', model => 'gpt-4o', input_tokens => 10, output_tokens => 1, status => 'failed') > 0 AS ok \gset

-- 1-3: one user's row is one task on its shard.
SELECT pg_temp.plan_of($$SELECT * FROM analytics.user_request_analytics WHERE user_id = 'rq1'$$) AS one_plan \gset
\echo '# ' :one_plan
SELECT is((SELECT array_agg(m[1]) FROM regexp_matches(:'one_plan', 'Task Count: (\d+)', 'g') m),
          ARRAY['1'], 'a filter on one user: one task (routed to its shard)');
SELECT unalike(:'one_plan'::text, '%Distributed Subplan%'::text,
              'nothing is computed over every shard first (no subplan)');
SELECT unalike(pg_temp.plan_of($$SELECT * FROM analytics.user_request_analytics$$), '%Distributed Subplan%'::text,
              'without a filter: one query pushed to every shard (no subplan)');

-- 4-7: the same rows as the form it replaces.
\set old_form 'WITH c AS MATERIALIZED (SELECT c.user_id, sum(c.requests)::bigint AS total_requests, sum(c.requests - c.failed)::bigint AS successful_requests, sum(c.failed)::bigint AS failed_requests, sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS total_tokens, sum(c.cost) AS total_cost, round(sum(c.response_time_sum)::numeric / NULLIF(sum(c.response_time_count), 0))::integer AS avg_response_time, (SELECT max(e.occurred_at) FROM analytics.chat_events e WHERE e.user_id = c.user_id) AS last_request_time FROM analytics.usage_counters c GROUP BY c.user_id) SELECT c.user_id, c.total_requests, c.successful_requests, c.failed_requests, c.total_tokens, c.total_cost, c.avg_response_time, (SELECT m.model FROM analytics.user_model_usage(c.user_id, $$-infinity$$, $$infinity$$) m GROUP BY m.model ORDER BY sum(m.requests) DESC, m.model LIMIT 1) AS most_used_model, (SELECT NULLIF(m.provider, $$$$) FROM analytics.user_model_usage(c.user_id, $$-infinity$$, $$infinity$$) m GROUP BY m.provider ORDER BY sum(m.requests) DESC, m.provider LIMIT 1) AS most_used_provider, c.last_request_time FROM c'
SELECT results_eq($$SELECT * FROM analytics.user_request_analytics ORDER BY user_id$$,
                  format('SELECT * FROM (%s) o ORDER BY user_id', :'old_form'),
                  'every user''s row equals the form it replaces');
SELECT results_eq($$SELECT * FROM analytics.user_request_analytics WHERE user_id = 'rq1'$$,
                  format('SELECT * FROM (%s) o WHERE user_id = %L', :'old_form', 'rq1'),
                  'one user''s row equals the form it replaces');
-- (\gset first: a query on one user's rows alone is pushed whole to its shard.)
SELECT total_requests || ' ' || failed_requests || ' ' || most_used_model AS rq1_row
  FROM analytics.user_request_analytics WHERE user_id = 'rq1' \gset
SELECT is(:'rq1_row'::text, '5 1 gpt-4o'::text, 'its totals, and its most used model counts the events not folded yet');
SELECT is((SELECT count(*) FROM analytics.user_request_analytics),
          (SELECT count(DISTINCT user_id) FROM analytics.usage_counters),
          'a row per user of the counters');

SELECT * FROM finish();
