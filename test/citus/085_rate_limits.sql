-- A provider's rate limit on the cluster (issue 16): provider_limits
-- counts a model's requests across all users, who live on both workers.
-- Racing admissions of many users from both workers admit exactly the
-- limit: the rate limit's lock and its counters are on one node.

SELECT plan(4);

-- A model the price book lacks (its own model, with the provider given):
-- 30 requests a day across all users.
INSERT INTO analytics.provider_limits (provider, model, requests_per_day) VALUES ('rlprov', 'rl-model', 30);
-- A plan that allows every model, for twenty users.
INSERT INTO analytics.plans (plan_id, name, daily_request_limit) VALUES ('rlplan', 'Any model', 100);
SELECT count(analytics.subscribe('rl' || i, 'rlplan', now() - interval '1 hour')) AS ok
  FROM generate_series(1, 20) i \gset

-- Twenty users, spread over both workers (checked), four calls each from
-- each worker (top-level: delegated to the worker holding the user).
SELECT count(DISTINCT n.nodeport) AS rl_nodes
  FROM generate_series(1, 20) i
  JOIN pg_dist_placement p ON p.shardid = get_shard_id_for_distribution_column('analytics.chat_events', 'rl' || i)
  JOIN pg_dist_node n ON n.groupid = p.groupid \gset
\setenv UA_BINDIR :bindir
\setenv UA_W1 :worker1_port
\setenv UA_W2 :worker2_port
\setenv UA_DB :DBNAME
\setenv UA_SCRATCH :scratch
\! for w in "$UA_W1" "$UA_W2"; do (for k in 1 2; do for i in $(seq 20); do echo "SELECT allowed FROM analytics.start_request('rl$i', 'rl-model', 10, provider => 'rlprov');"; done; done | "$UA_BINDIR/psql" -X -At -h 127.0.0.1 -p "$w" -d "$UA_DB" >"$UA_SCRATCH/rlrace.$w" 2>&1) & done; wait
\! cat "$UA_SCRATCH/rlrace.$UA_W1" "$UA_SCRATCH/rlrace.$UA_W2" | sort | uniq -c | sed 's/^/# race: /'

SELECT count(*) FILTER (WHERE status = 'pending') AS rl_admitted,
       count(*) FILTER (WHERE status = 'rejected' AND error_code = 'model_requests_per_day') AS rl_rejected
  FROM analytics.chat_events WHERE model = 'rl-model' \gset
SELECT sum(requests) AS rl_counted FROM analytics.provider_counters
 WHERE provider = 'rlprov' AND model = 'rl-model' AND period = 'day' \gset

SELECT is(:rl_nodes::int, 2, 'the twenty users live on both workers');
SELECT is(:rl_admitted::int, 30, 'racing admissions of twenty users from both workers admit exactly the model''s 30 a day');
SELECT is(:rl_rejected::int, 50, 'and reject the 50 others with model_requests_per_day');
SELECT is(:rl_counted::int, 30, 'the provider counters hold the 30 admitted');

SELECT * FROM finish();
