-- Read-path latency at the current size (server time, mean per call): the
-- heaviest user and 20 typical users.
SELECT array_agg(user_id ORDER BY n DESC) FILTER (WHERE rk = 1) AS heavy,
       array_agg(user_id) FILTER (WHERE rk BETWEEN 500 AND 519) AS typical
  FROM (SELECT user_id, sum(requests) AS n, row_number() OVER (ORDER BY sum(requests) DESC) AS rk
          FROM analytics.usage_counters GROUP BY user_id) u \gset
SELECT count(*) AS events FROM analytics.chat_events \gset
INSERT INTO bench.results (section, metric, value, target) VALUES
  (:'label', 'events', :'events', ''),
  (:'label', 'user_dashboard, heaviest user (ms)',
   round(bench.mean_ms('SELECT analytics.user_dashboard($1)', :'heavy', 50)::numeric, 2), '<= 5'),
  (:'label', 'user_dashboard, typical user (ms)',
   round(bench.mean_ms('SELECT analytics.user_dashboard($1)', :'typical', 10)::numeric, 2), '<= 5'),
  (:'label', 'get_user_request_history page 1 (ms)',
   round(bench.mean_ms('SELECT count(*) FROM analytics.get_user_request_history($1, 50, 0)', :'heavy', 50)::numeric, 2), '<= 5'),
  (:'label', 'get_user_request_history_before, deep page (ms)',
   round(bench.mean_ms($q$SELECT count(*) FROM analytics.get_user_request_history_before($1,
            (SELECT min(occurred_at) + interval '1 day' FROM analytics.chat_events WHERE user_id = $1), NULL, 50)$q$,
          :'heavy', 20)::numeric, 2), '<= 5'),
  (:'label', 'get_user_token_breakdown, heaviest user (ms)',
   round(bench.mean_ms('SELECT count(*) FROM analytics.get_user_token_breakdown($1)', :'heavy', 50)::numeric, 2), '<= 5'),
  (:'label', 'check_quota, typical users (us)',
   round(1000 * bench.per_call_ms('analytics.check_quota(u, 1000)', :'typical', 50)::numeric, 1), '<= 50');
