\set ECHO none
\i test/setup.psql
SELECT plan(50);

-- record_chat_events (issue 17): every element is checked before anything is
-- written; an error keeps its SQLSTATE and names the element and the key.
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events(NULL)$$, '22023',
  'events must be a JSON array of objects', 'NULL batch');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, 7]')$$,
  '22023', 'event 2 is not a JSON object', 'an element that is not an object');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o", "input_tokns": 1}]')$$,
  '22023', 'event 2 has unknown key "input_tokns"', 'an unknown key');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o", "input_tokens": "12x"}]')$$,
  '22P02', 'event 2 key "input_tokens": invalid input syntax for type bigint: "12x"', 'a count that is no integer');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o", "input_tokens": 1.5}]')$$,
  '22P02', 'event 2 key "input_tokens": invalid input syntax for type bigint: "1.5"', 'a count with a fraction');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o"}, {"user_id": "v", "model": "gpt-4o", "output_tokens": -1}]')$$,
  '22023', 'event 3: output_tokens must be between 0 and 100000000', 'a negative count');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o", "cost": "lots"}]')$$,
  '22P02', 'event 2 key "cost": invalid input syntax for type numeric: "lots"', 'a cost that is no number');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o", "response_time_ms": 10, "time_to_first_token_ms": 20}]')$$,
  '22023', 'event 2: time_to_first_token_ms must not exceed response_time_ms', 'a check across keys');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o", "occurred_at": "soon"}]')$$,
  '22007', 'event 2 key "occurred_at": invalid input syntax for type timestamp with time zone: "soon"', 'a time that is no time');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o", "occurred_at": "2999-01-01"}]')$$,
  '22008', 'event 2: occurred_at is in the future', 'a time in the future');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o", "status": "pending"}]')$$,
  '22023', 'event 2: status must be "completed" or "failed", not "pending"', 'a status of an unfinished request');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"model": "gpt-4o"}]')$$,
  '23502', 'event 2: user_id must not be null', 'no user_id');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": {"id": 1}, "model": "gpt-4o"}]')$$,
  '22023', 'event 2 key "user_id" must be a string', 'an object where a string belongs');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "gpt-4o", "metadata": {"k": "v"}, "sections_referenced": ["a", ["b"]]}]')$$,
  '22023', 'event 2 key "sections_referenced" must be an array of strings', 'a nested array in sections_referenced');
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events('[{"user_id": "v", "model": "gpt-4o", "request_id": "k1"}, {"user_id": "v", "model": "no-such-model"}]')$$,
  '42704', 'event 2: unknown model "no-such-model"', 'an unknown model');
SELECT is((SELECT count(*) FROM analytics.chat_events) + (SELECT count(*) FROM analytics.request_keys)
          + (SELECT count(*) FROM analytics.usage_counters), 0::bigint,
  'nothing was written by any refused batch (events, idempotency keys, counters)');

-- Idempotency per (user_id, request_id): inside one batch, across batches,
-- and with the single path; ids in element order.
CREATE TEMP TABLE b1 AS
  SELECT x.id, x.n FROM analytics.record_chat_events(
    '[{"user_id": "ann", "model": "gpt-4o", "input_tokens": 10, "request_id": "r1"},
      {"user_id": "ann", "model": "gpt-4o", "input_tokens": 99, "request_id": "r1"},
      {"user_id": "bob", "model": "gpt-4o", "input_tokens": 20, "request_id": "r1"},
      {"user_id": "ann", "model": "gpt-4o-mini", "input_tokens": 30},
      {"user_id": "ann", "model": "gpt-4o", "input_tokens": 40, "request_id": "r2"}]') WITH ORDINALITY AS x(id, n);
SELECT is((SELECT array_agg(id ORDER BY n) FROM b1)::bigint[],
  ARRAY(SELECT (SELECT e.id FROM analytics.chat_events e
                 WHERE e.user_id = v.u AND e.input_tokens = v.t) FROM (VALUES (1, 'ann', 10), (2, 'ann', 10), (3, 'bob', 20),
                 (4, 'ann', 30), (5, 'ann', 40)) v(n, u, t) ORDER BY v.n),
  'ids in element order; a repeat inside the batch gets the first element''s id');
SELECT is((SELECT count(*) FROM analytics.chat_events), 4::bigint, 'a repeat inside the batch is not recorded');
CREATE TEMP TABLE b2 AS
  SELECT x.id, x.n FROM analytics.record_chat_events(
    '[{"user_id": "ann", "model": "gpt-4o", "input_tokens": 7, "request_id": "r2"},
      {"user_id": "ann", "model": "gpt-4o", "input_tokens": 8, "request_id": "r3"},
      {"user_id": "ann", "model": "gpt-4o", "input_tokens": 9, "request_id": "r1"}]') WITH ORDINALITY AS x(id, n);
SELECT is(ARRAY(SELECT id FROM b2 ORDER BY n),
  ARRAY[(SELECT id FROM b1 WHERE n = 5), (SELECT id FROM analytics.chat_events WHERE request_id = 'r3'),
        (SELECT id FROM b1 WHERE n = 1)], 'across batches: a key recorded before returns its event');
SELECT is(analytics.record_chat_event('ann', 'gpt-4o', input_tokens => 1, request_id => 'r3'),
  (SELECT id FROM analytics.chat_events WHERE request_id = 'r3'), 'the single path sees the batch''s keys');
SELECT is((SELECT sum(requests)::bigint || '/' || sum(input_tokens) FROM analytics.usage_counters WHERE user_id = 'ann'),
  '4/88', 'each request counted once (10 + 30 + 40 + 8)');

-- Counters equal the raw log after batches: users, days, failures, caches,
-- latencies, provided and computed costs.
SELECT count(*) FROM analytics.record_chat_events((
  SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
           'user_id', 'w' || i % 500 % 7, 'model', (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'])[1 + i % 3],
           'input_tokens', i * 13 % 5000, 'cached_input_tokens', CASE WHEN i % 4 = 0 THEN i % 300 END,
           'output_tokens', i * 7 % 900, 'reasoning_tokens', CASE WHEN i % 5 = 0 THEN i * 7 % 900 / 2 END,
           'cost', CASE WHEN i % 11 = 0 THEN 0.001 * i END,
           'response_time_ms', CASE WHEN i % 6 <> 0 THEN 100 + i % 2000 + 0.4 END,
           'status', CASE WHEN i % 9 = 0 THEN 'failed' END,
           'request_id', CASE WHEN i % 2 = 0 THEN 'q' || i % 500 END,
           'occurred_at', now() - (i % 4) * interval '1 day' - interval '1 minute')))
    FROM generate_series(1, 1500) i)) \gset
SELECT is_empty($$
  (SELECT user_id, usage_date, count(*), count(*) FILTER (WHERE status = 'failed'), sum(input_tokens),
          sum(cached_input_tokens), sum(output_tokens), sum(reasoning_tokens), sum(cost),
          count(*) FILTER (WHERE cache_hit), COALESCE(sum(response_time_ms), 0), count(response_time_ms)
     FROM analytics.chat_events GROUP BY 1, 2
   EXCEPT
   SELECT user_id, usage_date, sum(requests), sum(failed), sum(input_tokens), sum(cached_input_tokens),
          sum(output_tokens), sum(reasoning_tokens), sum(cost), sum(cache_hits), sum(response_time_sum),
          sum(response_time_count)
     FROM analytics.usage_counters GROUP BY 1, 2)
  UNION ALL
  (SELECT user_id, usage_date, sum(requests), sum(failed), sum(input_tokens), sum(cached_input_tokens),
          sum(output_tokens), sum(reasoning_tokens), sum(cost), sum(cache_hits), sum(response_time_sum),
          sum(response_time_count)
     FROM analytics.usage_counters GROUP BY 1, 2
   EXCEPT
   SELECT user_id, usage_date, count(*), count(*) FILTER (WHERE status = 'failed'), sum(input_tokens),
          sum(cached_input_tokens), sum(output_tokens), sum(reasoning_tokens), sum(cost),
          count(*) FILTER (WHERE cache_hit), COALESCE(sum(response_time_ms), 0), count(response_time_ms)
     FROM analytics.chat_events GROUP BY 1, 2)$$,
  'counters equal the raw log per user and day after batches with repeats');
SELECT is((SELECT count(*) FROM analytics.chat_events WHERE user_id LIKE 'w%'), 750::bigint + 250,
  '1,500 elements: 750 without request_id, 250 distinct keys among the others');

-- The same events one by one and as a batch: the same rows, prices, days
-- and counters (a user in Tokyo; names through the gateway prefix and a date).
SELECT ok(analytics.subscribe('tz1', 'pro', '2020-01-01', 'Asia/Tokyo') > 0
          AND analytics.subscribe('tz2', 'pro', '2020-01-01', 'Asia/Tokyo') > 0, 'two Tokyo users');
SELECT count(analytics.record_chat_event(user_id => 'tz1', model => m, provider => p, input_tokens => t,
         cached_input_tokens => t / 3, output_tokens => t / 2, occurred_at => now() - t * interval '1 hour',
         conversation_id => 'c' || t, response_time_ms => t + 0.5, cost => c))
  FROM (VALUES ('openai/gpt-4o', NULL, 5, NULL), ('gpt-4o-2024-08-06', NULL, 17, NULL),
               ('claude-sonnet-4', 'anthropic', 30, NULL), ('gpt-4o', NULL, 40, 0.25::numeric)) v(m, p, t, c) \gset
SELECT count(*) FROM analytics.record_chat_events((
  SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('user_id', 'tz2', 'model', m, 'provider', p,
           'input_tokens', t, 'cached_input_tokens', t / 3, 'output_tokens', t / 2,
           'occurred_at', now() - t * interval '1 hour', 'conversation_id', 'c' || t,
           'response_time_ms', t + 0.5, 'cost', c)) ORDER BY t)
    FROM (VALUES ('openai/gpt-4o', NULL, 5, NULL), ('gpt-4o-2024-08-06', NULL, 17, NULL),
                 ('claude-sonnet-4', 'anthropic', 30, NULL), ('gpt-4o', NULL, 40, 0.25::numeric)) v(m, p, t, c))) \gset
SELECT results_eq($$
  SELECT occurred_at, usage_date, model, provider, priced_model, input_tokens, cost, cost_input, cost_cached_input,
         cache_savings, response_time_ms, cache_hit, cost_source, conversation_id
    FROM analytics.chat_events WHERE user_id = 'tz2' ORDER BY id$$,
  $$SELECT occurred_at, usage_date, model, provider, priced_model, input_tokens, cost, cost_input, cost_cached_input,
           cache_savings, response_time_ms, cache_hit, cost_source, conversation_id
      FROM analytics.chat_events WHERE user_id = 'tz1' ORDER BY id$$,
  'a batch prices, names, rounds and buckets as the single path does');
SELECT results_eq($$SELECT usage_date, sum(requests), sum(cost), sum(cache_savings) FROM analytics.usage_counters
                     WHERE user_id = 'tz2' GROUP BY 1 ORDER BY 1$$,
  $$SELECT usage_date, sum(requests), sum(cost), sum(cache_savings) FROM analytics.usage_counters
     WHERE user_id = 'tz1' GROUP BY 1 ORDER BY 1$$, 'and counts them the same');

-- Thresholds: the batch writes the notifications the single path writes,
-- each once, also when a batch passes a hard limit (it records usage that
-- happened: nothing is refused).
INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_token_limit, enforcement, warn_thresholds)
VALUES ('five', 'Five a day', 5, 1000, 'hard', '{0.5,0.8,1.0}');
SELECT ok(analytics.subscribe('ns', 'five') > 0 AND analytics.subscribe('nb', 'five') > 0, 'two users on five a day');
SELECT count(analytics.record_chat_event('ns', 'gpt-4o', input_tokens => 150)) FROM generate_series(1, 7) \gset
SELECT count(*) FROM analytics.record_chat_events((
  SELECT jsonb_agg(jsonb_build_object('user_id', 'nb', 'model', 'gpt-4o', 'input_tokens', 150))
    FROM generate_series(1, 7))) \gset
SELECT results_eq($$SELECT limit_name, period_start, threshold, limit_value FROM analytics.notifications
                     WHERE user_id = 'nb' ORDER BY 1, 2, 3$$,
  $$SELECT limit_name, period_start, threshold, limit_value FROM analytics.notifications
     WHERE user_id = 'ns' ORDER BY 1, 2, 3$$, 'the same notifications as one call per event');
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'nb'), 6::bigint,
  'three thresholds of the daily requests and of the monthly tokens, each once');
SELECT is((SELECT sum(requests) FROM analytics.usage_counters WHERE user_id = 'nb'), 7::numeric,
  'elements past the hard limit are recorded and counted, as by record_chat_event');
SELECT count(*) FROM analytics.record_chat_events('[{"user_id": "nb", "model": "gpt-4o"}, {"user_id": "nb", "model": "gpt-4o"}]') \gset
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'nb'), 6::bigint,
  'a later batch writes none of them again');
SELECT ok(analytics.subscribe('np', 'five', '2020-01-01') > 0, 'a third user on five a day');
SELECT count(*) FROM analytics.record_chat_events((
  SELECT jsonb_agg(jsonb_build_object('user_id', 'np', 'model', 'gpt-4o', 'input_tokens', 150,
                                      'occurred_at', date_trunc('month', now()) - interval '10 days'))
    FROM generate_series(1, 7))) \gset
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'np'), 0::bigint,
  'usage of a past month reaches no threshold of the current periods');

-- A user whose usage is below every threshold of the plan after the chunk
-- is not evaluated further; at exactly threshold x limit it is notified.
INSERT INTO analytics.plans (plan_id, name, monthly_cost_limit, enforcement, warn_thresholds)
VALUES ('tendollars', 'Ten dollars', 10, 'soft', '{0.9,0.5}');
SELECT ok(analytics.subscribe('nc', 'tendollars') > 0, 'a user on a ten-dollar plan');
SELECT count(*) FROM analytics.record_chat_events(
  '[{"user_id": "nc", "model": "gpt-4o", "cost": 2}, {"user_id": "nc", "model": "gpt-4o", "cost": 2.99}]') \gset
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'nc'), 0::bigint,
  '4.99 of 10 dollars: below the lower threshold, nothing');
SELECT count(*) FROM analytics.record_chat_events('[{"user_id": "nc", "model": "gpt-4o", "cost": 0.01}]') \gset
SELECT results_eq($$SELECT limit_name, threshold, used FROM analytics.notifications WHERE user_id = 'nc'$$,
  $$VALUES ('monthly_cost'::text, 0.5::numeric, 5.00::numeric)$$, 'exactly 5 of 10 dollars: the 50 % threshold, once');
SELECT count(*) FROM analytics.record_chat_events('[{"user_id": "nc", "model": "gpt-4o", "cost": 3.99}]') \gset
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'nc'), 1::bigint, '8.99: no more');
SELECT count(*) FROM analytics.record_chat_events('[{"user_id": "nc", "model": "gpt-4o", "cost": 0.01}]') \gset
SELECT is((SELECT count(*) FROM analytics.notifications WHERE user_id = 'nc' AND threshold = 0.9), 1::bigint,
  '9.00: the 90 % threshold');

-- Organizations: the organization's day, pooled and member counters,
-- its thresholds; the same as one call per event.
SELECT ok(analytics.create_organization('acme', 'Acme', time_zone => 'America/New_York', owner_id => 'o1') = 'acme'
          AND analytics.create_organization('acme2', 'Acme Two', time_zone => 'America/New_York', owner_id => 'o1') = 'acme2',
  'two organizations in New York');
SELECT ok(analytics.subscribe(NULL, 'five', org_id => 'acme') > 0 AND analytics.subscribe(NULL, 'five', org_id => 'acme2') > 0,
  'both on five a day');
SELECT count(analytics.record_chat_event(u, 'gpt-4o', input_tokens => 100 + i, org_id => 'acme2'))
  FROM (SELECT i, (ARRAY['o1', 'm1', 'stranger'])[1 + i % 3] AS u FROM generate_series(1, 8) i) v \gset
SELECT count(*) FROM analytics.record_chat_events((
  SELECT jsonb_agg(jsonb_build_object('user_id', u, 'model', 'gpt-4o', 'input_tokens', 100 + i, 'org_id', 'acme')
                   ORDER BY i)
    FROM (SELECT i, (ARRAY['o1', 'm1', 'stranger'])[1 + i % 3] AS u FROM generate_series(1, 8) i) v)) \gset
SELECT results_eq($$SELECT user_id, usage_date, sum(requests), sum(input_tokens) FROM analytics.org_usage_counters
                     WHERE org_id = 'acme' GROUP BY 1, 2 ORDER BY 1, 2$$,
  $$SELECT user_id, usage_date, sum(requests), sum(input_tokens) FROM analytics.org_usage_counters
     WHERE org_id = 'acme2' GROUP BY 1, 2 ORDER BY 1, 2$$, 'pooled and member counters as one call per event');
SELECT is_empty($$
  SELECT org_id, usage_date, count(*), sum(input_tokens) FROM analytics.chat_events WHERE org_id IN ('acme', 'acme2') GROUP BY 1, 2
  EXCEPT
  SELECT org_id, usage_date, sum(requests), sum(input_tokens) FROM analytics.org_usage_counters WHERE user_id = '' GROUP BY 1, 2$$,
  'the pooled counters equal the raw log per organization day');
SELECT results_eq($$SELECT user_id, limit_name, period_start, threshold FROM analytics.notifications
                     WHERE org_id = 'acme' ORDER BY 1, 2, 3, 4$$,
  $$SELECT user_id, limit_name, period_start, threshold FROM analytics.notifications
     WHERE org_id = 'acme2' ORDER BY 1, 2, 3, 4$$, 'the organization''s notifications as one call per event');
SELECT is((SELECT count(*) FROM analytics.notifications WHERE org_id = 'acme'), 5::bigint,
  'three thresholds of its daily requests and two of its monthly tokens, once each');

-- In one call, counter rows this backend has already are updated and new
-- ones inserted (users' and organizations').
SELECT count(*) FROM analytics.record_chat_events(
  '[{"user_id": "mx1", "model": "gpt-4o", "input_tokens": 10, "org_id": "acme"}]') \gset
SELECT count(*) FROM analytics.record_chat_events(
  '[{"user_id": "mx1", "model": "gpt-4o", "input_tokens": 20, "org_id": "acme"},
    {"user_id": "mx2", "model": "gpt-4o", "input_tokens": 40, "org_id": "acme"},
    {"user_id": "mx1", "model": "gpt-4o", "input_tokens": 5}]') \gset
SELECT results_eq($$SELECT user_id, sum(requests), sum(input_tokens) FROM analytics.usage_counters
                     WHERE user_id IN ('mx1', 'mx2') GROUP BY 1 ORDER BY 1$$,
  $$VALUES ('mx1'::text, 3::numeric, 35::numeric), ('mx2', 1, 40)$$, 'users'' counters: updated and inserted');
SELECT results_eq($$SELECT user_id, sum(requests), sum(input_tokens) FROM analytics.org_usage_counters
                     WHERE org_id = 'acme' AND user_id IN ('mx1', 'mx2') GROUP BY 1 ORDER BY 1$$,
  $$VALUES ('mx1'::text, 2::numeric, 30::numeric), ('mx2', 1, 40)$$, 'members'' counters: updated and inserted');

-- Large batches go in chunks: a repeat across a chunk boundary, counters exact.
SET LOCAL usage_analytics.max_batch_events = 20000;
CREATE TEMP TABLE big AS
  SELECT x.id, x.n FROM analytics.record_chat_events((
    SELECT jsonb_agg(jsonb_build_object('user_id', 'big' || i % 50, 'model', 'gpt-4o-mini', 'input_tokens', i % 1000,
                                        'request_id', 'k' || i % 11000) ORDER BY i)
      FROM generate_series(1, 12000) i)) WITH ORDINALITY AS x(id, n);
SELECT is((SELECT count(*) FROM big b1 JOIN big b2 ON b2.n = b1.n + 11000 WHERE b1.id = b2.id), 1000::bigint,
  'an element repeating one 11,000 elements earlier gets its id');
SELECT is((SELECT count(*) || '/' || sum(input_tokens) FROM analytics.chat_events WHERE user_id LIKE 'big%'),
  (SELECT count(*) || '/' || sum(i % 1000) FROM generate_series(1, 11000) i), '11,000 events recorded');
SELECT is((SELECT sum(requests) || '/' || sum(input_tokens) FROM analytics.usage_counters WHERE user_id LIKE 'big%'),
  (SELECT count(*) || '/' || sum(i % 1000) FROM generate_series(1, 11000) i), 'and counted once each');
RESET usage_analytics.max_batch_events;
SELECT throws_ok($$SELECT * FROM analytics.record_chat_events((SELECT jsonb_agg(jsonb_build_object('user_id', 'x', 'model', 'gpt-4o'))
                                                               FROM generate_series(1, 10001)))$$,
  '54000', 'a batch holds at most 10000 events, this one has 10001', 'a batch above max_batch_events');

SELECT * FROM finish();
ROLLBACK;
