-- Admission of requests in an organization on the cluster (issue 16), on
-- the cluster 000_smoke distributed.  A request with org_id counts against
-- the organization's plan, pooled over its members, and against the
-- member's caps: racing start_request of members living on both workers,
-- from both workers and through the coordinator, admit exactly the pool's
-- limit, and exactly a member's cap; rejections are logged and counted as
-- on a single node; the organization's counters (pooled and members') and
-- the users' counters equal the raw log afterwards, also after the
-- admitted requests are settled and an event is recorded with org_id.

SELECT plan(24);

SELECT is(analytics.distribute(), 0, 'the cluster is distributed');

INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_request_limit, enforcement)
VALUES ('org40', 'Forty a day, pooled', 40, NULL, 'hard'),
       ('org1000', 'A thousand a day', 1000, NULL, 'hard');
SELECT analytics.create_organization('race_org', 'Race org', owner_id => 'oa1') IS NOT NULL AS ok \gset
SELECT count(analytics.add_member('race_org', 'oa' || i)) FROM generate_series(2, 6) i \gset
SELECT analytics.subscribe(NULL, 'org40', now() - interval '1 day', org_id => 'race_org') > 0 AS ok \gset
SELECT analytics.create_organization('cap_org', 'Capped members', owner_id => 'capn') IS NOT NULL AS ok \gset
SELECT analytics.add_member('cap_org', 'capm', monthly_request_cap => 7) IS NULL AS ok \gset
SELECT analytics.subscribe(NULL, 'org1000', now() - interval '1 day', org_id => 'cap_org') > 0 AS ok \gset
SELECT analytics.create_organization('idle_org', 'Suspended', owner_id => 'oa1') IS NOT NULL AS ok \gset
SELECT analytics.suspend_organization('idle_org') AS ok \gset

-- The members live on both workers (the pooled rows, user_id '', on one).
SELECT is((SELECT count(DISTINCT p.groupid)::int FROM generate_series(1, 6) i
             JOIN pg_dist_placement p
               ON p.shardid = get_shard_id_for_distribution_column('analytics.chat_events', 'oa' || i)),
          2, 'the members of race_org are stored on both workers');

-- Refused as on a single node.
SELECT throws_ok($$SELECT * FROM analytics.start_request('zz', 'gpt-4o-mini', 10, org_id => 'race_org')$$, '42501',
                 'user "zz" is not a member of organization "race_org"', 'a user who is not a member: 42501');
SELECT throws_ok($$SELECT * FROM analytics.start_request('oa1', 'gpt-4o-mini', 10, org_id => 'no_org')$$, '42704',
                 'organization "no_org" does not exist', 'an unknown organization: 42704');
SELECT throws_ok($$SELECT * FROM analytics.start_request('oa1', 'gpt-4o-mini', 10, org_id => 'idle_org')$$, '55000',
                 'organization "idle_org" is suspended', 'a suspended organization: 55000');
-- In a transaction block on the coordinator nothing is delegated: the
-- locks are taken on the user's node and the pool's by statements of this
-- transaction.  Rolled back: the next admission sees the whole pool.
BEGIN;
SELECT allowed AS tb_allowed, limit_name AS tb_limit
  FROM analytics.start_request('oa1', 'gpt-4o-mini', 10, org_id => 'race_org') \gset
ROLLBACK;
SELECT is(:'tb_allowed' || ' ' || :'tb_limit', 't org_daily_requests',
          'an organization''s admission in a transaction block on the coordinator is admitted (rolled back)');

-- One admission, delegated: its answer names the pooled limit.
SELECT allowed AS one_allowed, limit_name AS one_limit, remaining AS one_remaining
  FROM analytics.start_request('oa1', 'gpt-4o-mini', 10, org_id => 'race_org') \gset
SELECT is(:'one_allowed' || ' ' || :'one_limit' || ' ' || :'one_remaining', 't org_daily_requests 39',
          'a delegated admission in the organization: admitted against the pooled daily limit');

-- The race: three sessions (worker 1, worker 2, the coordinator), 30 calls
-- each, over the six members in turn, and over capm and capn of cap_org.
-- The workers' calls are top-level (Citus delegates each to the worker
-- holding its user); the coordinator's are each in a transaction block
-- (not delegated: its locks are taken remotely).
\setenv UA_BINDIR :bindir
\setenv UA_W1 :worker1_port
\setenv UA_W2 :worker2_port
\setenv UA_C :coordinator_port
\setenv UA_DB :DBNAME
\setenv UA_SCRATCH :scratch
\! for p in "$UA_W1" "$UA_W2" "$UA_C"; do b=''; c=''; [ "$p" = "$UA_C" ] && b='BEGIN;' && c='COMMIT;'; (for i in $(seq 30); do echo "$b SELECT 'race_org ' || allowed FROM analytics.start_request('oa' || ($i % 6 + 1), 'gpt-4o-mini', 10, org_id => 'race_org'); $c"; echo "$b SELECT 'capm ' || allowed FROM analytics.start_request('capm', 'gpt-4o-mini', 10, org_id => 'cap_org'); $c"; echo "$b SELECT 'capn ' || allowed FROM analytics.start_request('capn', 'gpt-4o-mini', 10, org_id => 'cap_org'); $c"; done | "$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$p" -d "$UA_DB" >"$UA_SCRATCH/orgrace.$p" 2>&1) & done; wait
\! cat "$UA_SCRATCH/orgrace.$UA_W1" "$UA_SCRATCH/orgrace.$UA_W2" "$UA_SCRATCH/orgrace.$UA_C" | sort | uniq -c | sed 's/^/# race: /'

SELECT count(*) FILTER (WHERE status = 'pending') AS race_admitted,
       count(*) FILTER (WHERE status = 'rejected') AS race_rejected,
       count(*) FILTER (WHERE status = 'rejected' AND error_code = 'org_daily_requests') AS race_rejected_pool,
       count(DISTINCT user_id) FILTER (WHERE status = 'pending') AS race_admitted_members
  FROM analytics.chat_events WHERE org_id = 'race_org' \gset
SELECT is(:race_admitted::int, 40, 'racing admissions of six members from both workers and the coordinator admit exactly the pooled limit (40 of 91)');
SELECT is(:race_rejected::int, 51, 'and log the 51 others as rejected');
SELECT is(:race_rejected_pool::int, 51, 'each rejection names the pooled limit (org_daily_requests)');
SELECT ok(:race_admitted_members::int > 1, 'the pool was shared by several members');

SELECT count(*) FILTER (WHERE status = 'pending' AND user_id = 'capm') AS capm_admitted,
       count(*) FILTER (WHERE status = 'rejected' AND user_id = 'capm' AND error_code = 'member_monthly_requests') AS capm_rejected,
       count(*) FILTER (WHERE status = 'pending' AND user_id = 'capn') AS capn_admitted
  FROM analytics.chat_events WHERE org_id = 'cap_org' \gset
SELECT is(:capm_admitted::int, 7, 'a member''s cap holds under the race: exactly 7 of capm''s 90 admitted');
SELECT is(:capm_rejected::int, 83, 'the 83 others rejected with member_monthly_requests');
SELECT is(:capn_admitted::int, 90, 'the member without a cap in the same organization: all 90 admitted');

SELECT allowed AS q_allowed, limit_name AS q_limit, used AS q_used
  FROM analytics.check_quota('oa2', 0, NULL, NULL, 'race_org') \gset
SELECT is(:'q_allowed' || ' ' || :'q_limit' || ' ' || :'q_used', 'f org_daily_requests 40',
          'check_quota in the organization reads the pooled counters: the pool is used up');

-- In a transaction block on the worker that holds the member: two
-- admissions in the organization and one of the user's own, one commit.
SELECT n.nodeport AS capn_port FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
 WHERE p.shardid = get_shard_id_for_distribution_column('analytics.chat_events', 'capn') \gset
\setenv UA_CAPN_PORT :capn_port
\! printf '%s\n' "BEGIN;" "SELECT allowed FROM analytics.start_request('capn', 'gpt-4o-mini', 10, 'txn-1', org_id => 'cap_org');" "SELECT allowed FROM analytics.start_request('capn', 'gpt-4o-mini', 10, 'txn-2', org_id => 'cap_org');" "SELECT allowed FROM analytics.start_request('capn', 'gpt-4o-mini', 10, 'txn-3');" "COMMIT;" | "$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$UA_CAPN_PORT" -d "$UA_DB" 2>&1 | sed 's/^/# txn: /'
SELECT count(*) FILTER (WHERE org_id = 'cap_org') AS txn_org, count(*) FILTER (WHERE org_id IS NULL) AS txn_own
  FROM analytics.chat_events
 WHERE user_id = 'capn' AND request_id IN ('txn-1', 'txn-2', 'txn-3') AND status = 'pending' \gset
SELECT is(:txn_org || ' ' || :txn_own, '2 1',
          'in a transaction block on the member''s worker: two admissions in the organization and one of the user''s own');

-- Settle the admitted requests (complete_request, on the coordinator) and
-- record one more with org_id (delegated).
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT id, user_id FROM analytics.chat_events
            WHERE org_id IN ('race_org', 'cap_org') AND status = 'pending' ORDER BY id LIMIT 20 LOOP
    PERFORM analytics.complete_request(r.id, 'completed', 7, output_tokens => 3, user_id => r.user_id);
  END LOOP;
END
$$;
SELECT analytics.record_chat_event(user_id => 'oa3', org_id => 'race_org', model => 'gpt-4o-mini',
                                   input_tokens => 11, output_tokens => 2) > 0 AS ok \gset

-- Counters equal the raw log: the pooled rows, the members' rows, the users'.
SELECT count(*) AS pool_diff FROM (
  SELECT org_id, count(*) FILTER (WHERE status IN ('completed', 'failed')) AS n,
         count(*) FILTER (WHERE status = 'pending') AS p,
         count(*) FILTER (WHERE status = 'rejected') AS r,
         COALESCE(sum(input_tokens) FILTER (WHERE status IN ('completed', 'failed')), 0) AS i,
         COALESCE(sum(reserved_tokens) FILTER (WHERE status = 'pending'), 0) AS pt
    FROM analytics.chat_events WHERE org_id IN ('race_org', 'cap_org') GROUP BY org_id) l
  FULL JOIN (
  SELECT org_id, sum(requests) AS n, sum(pending_requests) AS p, sum(rejected) AS r,
         sum(input_tokens) AS i, sum(pending_tokens) AS pt
    FROM analytics.org_usage_counters WHERE org_id IN ('race_org', 'cap_org') AND user_id = ''
   GROUP BY org_id) c USING (org_id)
 WHERE (l.n, l.p, l.r, l.i, l.pt) IS DISTINCT FROM (c.n, c.p, c.r, c.i, c.pt) \gset
SELECT is(:pool_diff::int, 0, 'the organizations'' pooled counters equal the raw log');

SELECT count(*) AS member_diff FROM (
  SELECT org_id, user_id, count(*) FILTER (WHERE status IN ('completed', 'failed')) AS n,
         count(*) FILTER (WHERE status = 'pending') AS p,
         count(*) FILTER (WHERE status = 'rejected') AS r,
         COALESCE(sum(input_tokens) FILTER (WHERE status IN ('completed', 'failed')), 0) AS i
    FROM analytics.chat_events WHERE org_id IN ('race_org', 'cap_org') GROUP BY org_id, user_id) l
  FULL JOIN (
  SELECT org_id, user_id, sum(requests) AS n, sum(pending_requests) AS p, sum(rejected) AS r,
         sum(input_tokens) AS i
    FROM analytics.org_usage_counters WHERE org_id IN ('race_org', 'cap_org') AND user_id <> ''
   GROUP BY org_id, user_id) c USING (org_id, user_id)
 WHERE (l.n, l.p, l.r, l.i) IS DISTINCT FROM (c.n, c.p, c.r, c.i) \gset
SELECT is(:member_diff::int, 0, 'the members'' counters in the organizations equal the raw log, member by member');

SELECT count(*) AS user_diff FROM (
  SELECT user_id, count(*) FILTER (WHERE status IN ('completed', 'failed')) AS n,
         count(*) FILTER (WHERE status = 'pending') AS p,
         count(*) FILTER (WHERE status = 'rejected') AS r,
         COALESCE(sum(input_tokens) FILTER (WHERE status IN ('completed', 'failed')), 0) AS i
    FROM analytics.chat_events
   WHERE user_id IN ('oa1', 'oa2', 'oa3', 'oa4', 'oa5', 'oa6', 'capm', 'capn') GROUP BY user_id) l
  FULL JOIN (
  SELECT user_id, sum(requests) AS n, sum(pending_requests) AS p, sum(rejected) AS r, sum(input_tokens) AS i
    FROM analytics.usage_counters
   WHERE user_id IN ('oa1', 'oa2', 'oa3', 'oa4', 'oa5', 'oa6', 'capm', 'capn') GROUP BY user_id) c USING (user_id)
 WHERE (l.n, l.p, l.r, l.i) IS DISTINCT FROM (c.n, c.p, c.r, c.i) \gset
SELECT is(:user_diff::int, 0, 'the members'' own counters equal the raw log, user by user');

SELECT count(*) FILTER (WHERE status = 'completed') AS settled,
       count(*) FILTER (WHERE status = 'completed' AND input_tokens = 11) AS recorded
  FROM analytics.chat_events WHERE org_id IN ('race_org', 'cap_org') \gset
SELECT is(:settled::int, 21, 'the 20 settled requests and the recorded event are in the log');
SELECT is(:recorded::int, 1, 'record_chat_event with org_id (delegated) is in the log once');

-- The user's own quota leaves the organization's requests out.
SELECT used AS own_used FROM analytics.check_quota('capn', 0) \gset
SELECT is(:own_used::int, 1, 'capn''s own quota counts its own request, not its 92 in the organization');

-- Admissions after the race: the pool is full, the cap is reached.
SELECT allowed AS after_pool FROM analytics.start_request('oa4', 'gpt-4o-mini', 10, org_id => 'race_org') \gset
SELECT is(:'after_pool'::boolean, false, 'a further admission in the full pool is rejected');
SELECT allowed AS after_capn FROM analytics.start_request('capn', 'gpt-4o-mini', 10, org_id => 'cap_org') \gset
SELECT is(:'after_capn'::boolean, true, 'a member without a cap is still admitted in its organization');

SELECT * FROM finish();
