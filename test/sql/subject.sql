\set ECHO none
\i test/setup.psql
SELECT plan(13);

-- subject.c reads plans, subscriptions, prices and counters by index scans
-- for the write path, check_quota and admission.  Here it is compared with
-- the SQL definitions of 1.0 (copied below as the reference) on random
-- data: every row, as text, so that even the scale of a numeric must match.

CREATE FUNCTION pg_temp.ref_subject_at(p_user_id text, p_at timestamptz,
    OUT plan_id text, OUT time_zone text) RETURNS SETOF record LANGUAGE sql STABLE AS $$
    SELECT COALESCE(s.plan_id, current_setting('usage_analytics.default_plan')),
           COALESCE(s.time_zone, l.time_zone, 'UTC')
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
        SELECT s.plan_id, s.time_zone
          FROM analytics.subscriptions s
         WHERE s.user_id = p_user_id AND s.starts_at <= p_at
           AND (s.ends_at IS NULL OR s.ends_at > p_at)
         ORDER BY s.starts_at DESC LIMIT 1) s ON true
      -- 1.1: without one in force, the zone of the latest started (issue 13).
      LEFT JOIN LATERAL (
        SELECT l.time_zone FROM analytics.subscriptions l
         WHERE l.user_id = p_user_id AND l.starts_at <= p_at
         ORDER BY l.starts_at DESC LIMIT 1) l ON true
$$;
CREATE FUNCTION pg_temp.ref_price_request(p_model text, p_provider text, p_at timestamptz,
    p_input bigint, p_cached bigint, p_write bigint, p_output bigint,
    OUT provider text, OUT cost_input numeric, OUT cost_cached_input numeric,
    OUT cost_cache_write numeric, OUT cost_output numeric, OUT cache_savings numeric,
    OUT priced_model text)
  RETURNS SETOF record LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (p.provider) p.provider,
           round(p_input  * p.input_per_mtok        / 1000000, 10),
           round(p_cached * p.cached_input_per_mtok / 1000000, 10),
           round(p_write  * p.cache_write_per_mtok  / 1000000, 10),
           round(p_output * p.output_per_mtok       / 1000000, 10),
           round(p_cached * GREATEST(p.input_per_mtok - p.cached_input_per_mtok, 0) / 1000000, 10),
           p.model
      FROM analytics.model_prices p
     WHERE p.model = p_model AND (p_provider IS NULL OR p.provider = p_provider)
       AND p.effective_from <= p_at
     ORDER BY p.provider, p.effective_from DESC
     LIMIT 2
$$;
CREATE FUNCTION pg_temp.ref_usage_snapshot(p_user_id text, p_at timestamptz)
  RETURNS SETOF record LANGUAGE sql STABLE AS $$
    WITH d AS (
      SELECT s.plan_id, s.time_zone,
             (p_at AT TIME ZONE s.time_zone)::date AS today,
             date_trunc('month', (p_at AT TIME ZONE s.time_zone))::date AS month_start
        FROM pg_temp.ref_subject_at(p_user_id, p_at) s)
    SELECT d.plan_id, p.plan_id IS NOT NULL, d.month_start,
           ((d.today + 1)::timestamp AT TIME ZONE d.time_zone),
           ((d.month_start::timestamp + interval '1 month') AT TIME ZONE d.time_zone),
           c.day_requests, c.month_requests, c.month_tokens, c.month_cost,
           p.daily_request_limit, p.monthly_request_limit, p.monthly_token_limit,
           p.monthly_cost_limit, p.max_tokens_per_request, p.enforcement, p.warn_thresholds, d.today
      FROM d
      LEFT JOIN analytics.plans p ON p.plan_id = d.plan_id
      CROSS JOIN LATERAL (
        SELECT COALESCE(sum(u.requests + u.pending_requests) FILTER (WHERE u.usage_date = d.today), 0)::bigint AS day_requests,
               COALESCE(sum(u.requests + u.pending_requests), 0)::bigint AS month_requests,
               COALESCE(sum(u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens
                            + u.pending_tokens), 0)::bigint AS month_tokens,
               COALESCE(sum(u.cost + u.pending_cost), 0) AS month_cost
          FROM analytics.usage_counters u
         WHERE u.user_id = p_user_id AND u.usage_date >= d.month_start
           AND u.usage_date < (d.month_start::timestamp + interval '1 month')::date) c
$$;

-- Random data: plans with and without each limit, subscriptions in several
-- time zones (some ended, some overlapping, some in the future), prices of
-- several providers over time, counters over three months and many slots.
SELECT setseed(0.42);
INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_request_limit,
                             monthly_token_limit, monthly_cost_limit, max_tokens_per_request,
                             enforcement, warn_thresholds)
SELECT 'p' || i, 'plan ' || i,
       CASE WHEN random() < 0.7 THEN (random() * 100)::bigint END,
       CASE WHEN random() < 0.7 THEN (random() * 1000)::bigint END,
       CASE WHEN random() < 0.7 THEN (random() * 1e6)::bigint END,
       CASE WHEN random() < 0.7 THEN round((random() * 50)::numeric, (random() * 4)::int) END,
       CASE WHEN random() < 0.5 THEN (random() * 1e5)::bigint END,
       CASE WHEN random() < 0.5 THEN 'hard' ELSE 'soft' END,
       CASE WHEN random() < 0.5 THEN '{0.5,0.8,1.0}' ELSE '{0.8}' END::numeric[]
  FROM generate_series(1, 5) i;
INSERT INTO analytics.subscriptions (user_id, plan_id, starts_at, ends_at, time_zone)
SELECT 'u' || (random() * 30)::int,
       (ARRAY['p1', 'p2', 'p3', 'p4', 'p5'])[1 + (random() * 4)::int],
       s, CASE WHEN random() < 0.3 THEN s + random() * interval '40 days' END,
       (ARRAY['UTC', 'Asia/Tokyo', 'America/Los_Angeles', 'Pacific/Kiritimati', 'Asia/Kathmandu'])[1 + (random() * 4)::int]
  FROM (SELECT timestamptz '2026-01-01' + random() * interval '300 days' AS s FROM generate_series(1, 80)) x;
INSERT INTO analytics.model_prices (provider, model, effective_from, input_per_mtok,
                                    cached_input_per_mtok, cache_write_per_mtok, output_per_mtok)
SELECT DISTINCT ON (prov, m, f) prov, m, f,
       round((random() * 20)::numeric, (random() * 6)::int), round((random() * 25)::numeric, (random() * 3)::int),
       round((random() * 5)::numeric, 2), round((random() * 60)::numeric, (random() * 8)::int)
  FROM (SELECT (ARRAY['acme', 'bolt', 'core'])[1 + (random() * 2)::int] AS prov,
               'm' || (random() * 4)::int AS m,
               timestamptz '2026-01-01' + (random() * 300)::int * interval '1 day' AS f
          FROM generate_series(1, 60)) x;
INSERT INTO analytics.usage_counters (user_id, usage_date, slot, requests, failed, input_tokens,
                                      cached_input_tokens, cache_write_tokens, output_tokens, cost,
                                      pending_requests, pending_tokens, pending_cost)
SELECT DISTINCT ON (u, d, slot) u, d, slot, (random() * 50)::int, 0, (random() * 1e5)::int,
       (random() * 1e4)::int, (random() * 1e3)::int, (random() * 1e4)::int,
       round((random() * 3)::numeric, (random() * 10)::int),
       (random() * 3)::int, (random() * 5000)::int, round((random() * 0.5)::numeric, (random() * 4)::int)
  FROM (SELECT 'u' || (random() * 30)::int AS u, date '2026-08-01' + (random() * 100)::int AS d,
               (random() * 40)::int AS slot
          FROM generate_series(1, 3000)) x;

-- Users without a subscription get the default plan, here one that does not exist.
SET LOCAL usage_analytics.default_plan = 'nope';
CREATE TEMP TABLE probe AS
SELECT 'u' || (random() * 32)::int AS u, timestamptz '2026-07-25' + random() * interval '120 days' AS at
  FROM generate_series(1, 400);
-- Day and month edges in the users' zones.
INSERT INTO probe
SELECT u, (d::timestamp AT TIME ZONE z) + e
  FROM (VALUES ('u1'), ('u2'), ('u3'), ('u7')) us(u),
       (VALUES ('UTC'), ('Asia/Tokyo'), ('America/Los_Angeles'), ('Pacific/Kiritimati'), ('Asia/Kathmandu')) zs(z),
       (VALUES (date '2026-09-01'), (date '2026-10-01'), (date '2026-10-15')) ds(d),
       (VALUES (interval '0'), (interval '-1 microsecond'), (interval '1 microsecond')) es(e);

SELECT is((SELECT count(*) FROM probe p
            WHERE (SELECT s::text FROM analytics.usage_snapshot(p.u, p.at) s)
                  IS DISTINCT FROM
                  (SELECT s::text FROM pg_temp.ref_usage_snapshot(p.u, p.at)
                     AS s(plan_id text, plan_found boolean, month_start date, day_resets_at timestamptz,
                          month_resets_at timestamptz, day_requests bigint, month_requests bigint,
                          month_tokens bigint, month_cost numeric, daily_request_limit bigint,
                          monthly_request_limit bigint, monthly_token_limit bigint,
                          monthly_cost_limit numeric, max_tokens_per_request bigint,
                          enforcement text, warn_thresholds numeric[], today date))), 0::bigint,
  'usage_snapshot equals the SQL definition for ' || (SELECT count(*) FROM probe) || ' users and times');
SELECT ok((SELECT count(DISTINCT s.plan_id) FROM probe p, analytics.usage_snapshot(p.u, p.at) s) >= 5
          AND (SELECT count(*) FROM probe p, analytics.usage_snapshot(p.u, p.at) s WHERE s.month_requests > 0) > 50
          AND (SELECT count(*) FROM probe p, analytics.usage_snapshot(p.u, p.at) s WHERE NOT s.plan_found) > 0,
  'over plans found and missing, with and without usage');
SELECT is((SELECT count(*) FROM probe p, analytics.subject_at(p.u, p.at) s, analytics.usage_snapshot(p.u, p.at) c
            WHERE s.plan_id IS DISTINCT FROM c.plan_id
               OR (p.at AT TIME ZONE s.time_zone)::date IS DISTINCT FROM c.today), 0::bigint,
  'the public subject_at agrees with the plan and day the C side uses');

CREATE TEMP TABLE price_probe AS
SELECT 'm' || (random() * 5)::int AS m,
       CASE WHEN random() < 0.4 THEN (ARRAY['acme', 'bolt', 'core', 'none'])[1 + (random() * 3)::int] END AS prov,
       timestamptz '2025-12-01' + random() * interval '330 days' AS at,
       (random() * 1e6)::bigint AS i, (random() * 1e5)::bigint AS c, (random() * 1e4)::bigint AS w,
       (random() * 1e5)::bigint AS o
  FROM generate_series(1, 600);
INSERT INTO price_probe VALUES ('m1', NULL, now(), NULL, 5, NULL, 7), ('m2', 'acme', now(), 0, 0, 0, 0);
SELECT is((SELECT count(*) FROM price_probe p
            WHERE ARRAY(SELECT r::text FROM analytics.price_request(p.m, p.prov, p.at, p.i, p.c, p.w, p.o) r)
                  IS DISTINCT FROM
                  ARRAY(SELECT r::text FROM pg_temp.ref_price_request(p.m, p.prov, p.at, p.i, p.c, p.w, p.o) r)),
  0::bigint, 'price_request equals the SQL definition for 602 requests');
SELECT ok((SELECT count(*) FROM price_probe p WHERE (SELECT count(*) FROM analytics.price_request(p.m, p.prov, p.at, p.i, p.c, p.w, p.o)) = 2) > 50
          AND (SELECT count(*) FROM price_probe p WHERE (SELECT count(*) FROM analytics.price_request(p.m, p.prov, p.at, p.i, p.c, p.w, p.o)) = 0) > 50,
  'over ambiguous, unique and unknown prices');

-- The write path prices and buckets as the SQL would.
SELECT analytics.subscribe('zoned', 'p1', now() - interval '1 day', 'Pacific/Kiritimati') > 0 AS subscribed \gset
SELECT analytics.record_chat_event('zoned', 'm1', provider => 'acme', input_tokens => 123457, cached_input_tokens => 999,
                                   cache_write_tokens => 17, output_tokens => 4321) AS ev \gset
SELECT is((SELECT row(e.cost_input, e.cost_cached_input, e.cost_cache_write, e.cost_output, e.cache_savings)::text
             FROM analytics.chat_events e WHERE e.id = :ev),
          (SELECT row(r.cost_input, r.cost_cached_input, r.cost_cache_write, r.cost_output, r.cache_savings)::text
             FROM pg_temp.ref_price_request('m1', 'acme', now(), 123457, 999, 17, 4321) r),
  'record_chat_event prices as the SQL definition');
SELECT is((SELECT usage_date FROM analytics.chat_events WHERE id = :ev), (now() AT TIME ZONE 'Pacific/Kiritimati')::date,
  'and buckets the day in the user''s zone');

-- Column positions are cached per backend and follow the table's changes.
SAVEPOINT s;
ALTER TABLE analytics.plans RENAME COLUMN warn_thresholds TO warn_thresholds_before;
ALTER TABLE analytics.plans ADD COLUMN warn_thresholds numeric[] NOT NULL DEFAULT '{0.25}';
SELECT is((SELECT warn_thresholds FROM analytics.usage_snapshot('zoned', now())), '{0.25}'::numeric[],
  'a column dropped and added again is read where it now is');
ROLLBACK TO SAVEPOINT s;

-- The internal functions refuse callers who could not read every row.
SELECT throws_ok($$SELECT * FROM analytics.usage_snapshot(NULL, now())$$, '22004',
  'user_id and the time must not be null', 'usage_snapshot of no user');
CREATE ROLE ua_subject_reader;
GRANT USAGE ON SCHEMA analytics TO ua_subject_reader;
GRANT EXECUTE ON FUNCTION analytics.usage_snapshot(text, timestamptz), analytics.price_request(text, text, timestamptz, bigint, bigint, bigint, bigint) TO ua_subject_reader;
SELECT is(pg_temp.as_role('ua_subject_reader', $$SELECT plan_id FROM analytics.usage_snapshot('u1', now())$$),
  'ERROR 42501', 'usage_snapshot: EXECUTE alone does not open the counters');
SELECT is(pg_temp.as_role('ua_subject_reader', $$SELECT count(*) FROM analytics.price_request('m1', NULL, now(), 1, 1, 1, 1)$$),
  'ERROR 42501', 'price_request: nor the price book');
GRANT SELECT ON analytics.model_prices TO ua_subject_reader;
SELECT is(pg_temp.as_role('ua_subject_reader', $$SELECT count(*) FROM analytics.price_request('m1', NULL, now(), 1, 1, 1, 1)$$),
  (SELECT count(*)::text FROM pg_temp.ref_price_request('m1', NULL, now(), 1, 1, 1, 1)), 'which a reader of the price book may use');
GRANT SELECT ON analytics.usage_counters, analytics.subscriptions, analytics.plans TO ua_subject_reader;
SELECT is(pg_temp.as_role('ua_subject_reader', $$SELECT plan_id FROM analytics.usage_snapshot('u1', now())$$),
  'ERROR 42501', 'row security on the counters still applies');

SELECT * FROM finish();
ROLLBACK;
