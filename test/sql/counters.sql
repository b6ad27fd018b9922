\set ECHO none
\i test/setup.psql
SELECT plan(16);

-- Counters equal a recomputation from the raw log.
CREATE TEMP VIEW recomputed AS
SELECT user_id, usage_date, count(*)::bigint AS requests,
       count(*) FILTER (WHERE status = 'failed')::bigint AS failed,
       sum(input_tokens)::bigint AS input_tokens, sum(cached_input_tokens)::bigint AS cached_input_tokens,
       sum(cache_write_tokens)::bigint AS cache_write_tokens, sum(output_tokens)::bigint AS output_tokens,
       sum(reasoning_tokens)::bigint AS reasoning_tokens,
       count(*) FILTER (WHERE cache_hit)::bigint AS cache_hits, sum(cost) AS cost,
       sum(COALESCE(cache_savings, 0)) AS cache_savings,
       COALESCE(sum(response_time_ms), 0)::bigint AS response_time_sum,
       count(response_time_ms)::bigint AS response_time_count
  FROM analytics.chat_events
 WHERE status IN ('completed', 'failed')
 GROUP BY user_id, usage_date;
CREATE TEMP VIEW counted AS
SELECT user_id, usage_date, sum(requests)::bigint AS requests, sum(failed)::bigint AS failed,
       sum(input_tokens)::bigint AS input_tokens, sum(cached_input_tokens)::bigint AS cached_input_tokens,
       sum(cache_write_tokens)::bigint AS cache_write_tokens, sum(output_tokens)::bigint AS output_tokens,
       sum(reasoning_tokens)::bigint AS reasoning_tokens, sum(cache_hits)::bigint AS cache_hits,
       sum(cost) AS cost, sum(cache_savings) AS cache_savings,
       sum(response_time_sum)::bigint AS response_time_sum, sum(response_time_count)::bigint AS response_time_count
  FROM analytics.usage_counters
 GROUP BY user_id, usage_date;

SELECT ok(analytics.subscribe('tokyo', 'pro', '2020-01-01', 'Asia/Tokyo') > 0, 'subscribe a Tokyo user');
SELECT ok(analytics.subscribe('la', 'pro', '2020-01-01', 'America/Los_Angeles') > 0, 'subscribe a Los Angeles user');

-- A mixed workload: a fifth of the requests roll back (subtransactions),
-- some are failures, some are retries, some are late, several models.
SELECT setseed(0.42) \gset
DO $$
DECLARE
  i integer;
  users text[] := ARRAY['u1', 'u2', 'u3', 'tokyo', 'la'];
  models text[] := ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'gemini-2.0-flash'];
  out integer;
BEGIN
  FOR i IN 1..600 LOOP
    BEGIN
      out := (random() * 2000)::int;
      PERFORM analytics.record_chat_event(
        user_id => users[1 + (random() * 4)::int],
        model => models[1 + (random() * 3)::int],
        input_tokens => (random() * 5000)::int,
        cached_input_tokens => CASE WHEN random() < 0.3 THEN (random() * 3000)::int ELSE 0 END,
        cache_write_tokens => CASE WHEN random() < 0.1 THEN (random() * 1000)::int ELSE 0 END,
        output_tokens => out,
        reasoning_tokens => (out * random() * 0.5)::int,
        response_time_ms => CASE WHEN random() < 0.9 THEN (random() * 8000)::int END,
        status => CASE WHEN random() < 0.1 THEN 'failed' ELSE 'completed' END,
        request_id => CASE WHEN random() < 0.2 THEN 'r' || (random() * 50)::int END,
        occurred_at => now() - random() * interval '70 days');
      IF random() < 0.2 THEN
        RAISE EXCEPTION 'roll this one back';
      END IF;
    EXCEPTION WHEN raise_exception THEN
      NULL;
    END;
  END LOOP;
END
$$;

SELECT ok((SELECT count(*) FROM analytics.chat_events) > 300, 'the workload recorded events');
SELECT set_eq('SELECT * FROM counted', 'SELECT * FROM recomputed',
  'counters equal a recomputation from the raw log after commits and rollbacks');
SELECT is((SELECT count(*) FROM analytics.request_keys k
            WHERE NOT EXISTS (SELECT 1 FROM analytics.chat_events e WHERE e.id = k.event_id)), 0::bigint,
  'rolled-back requests left no idempotency key');

SELECT set_eq(
  $$SELECT user_id, date, message_count, tokens_total, cost_total, error_count FROM analytics.user_daily_usage$$,
  $$SELECT user_id, usage_date, count(*)::bigint AS n,
           sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens)::bigint AS t,
           sum(cost) AS c, count(*) FILTER (WHERE status = 'failed')::bigint AS failed
      FROM analytics.chat_events GROUP BY 1, 2$$,
  'user_daily_usage equals the raw log');
SELECT set_eq(
  $$SELECT user_id, month, message_count, active_days, tokens_total, tokens_cached, cost_total, error_count,
           avg_response_time_ms FROM analytics.user_monthly_usage$$,
  $$SELECT user_id, date_trunc('month', usage_date)::date, count(*)::bigint AS n, count(DISTINCT usage_date)::integer AS d,
           sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens)::bigint AS t,
           sum(cached_input_tokens)::bigint AS c, sum(cost), count(*) FILTER (WHERE status = 'failed')::bigint AS f,
           round(avg(response_time_ms))::integer AS rt
      FROM analytics.chat_events GROUP BY 1, 2$$,
  'user_monthly_usage equals the raw log');
SELECT is((SELECT max(n) FROM (SELECT count(*) AS n FROM analytics.usage_counters
                                 GROUP BY user_id, usage_date) m), 1::bigint,
  'one backend keeps one counter row per user and day (its slot)');

-- Counter updates are HOT: they change no indexed column.  (Inside one
-- transaction the page fills with versions that cannot be pruned yet, so
-- measure a burst that fits the free space fillfactor leaves.)
SELECT n_tup_upd AS upd0, n_tup_hot_upd AS hot0 FROM pg_stat_xact_user_tables
 WHERE relid = 'analytics.usage_counters'::regclass \gset
SELECT count(analytics.record_chat_event('hot-user', 'gpt-4o', input_tokens => i)) FROM generate_series(1, 10) i \gset
SELECT is((SELECT n_tup_upd - :upd0 FROM pg_stat_xact_user_tables WHERE relid = 'analytics.usage_counters'::regclass),
  9::bigint, 'ten events of a new user-day: one insert, nine counter updates');
SELECT is((SELECT n_tup_hot_upd - :hot0 FROM pg_stat_xact_user_tables WHERE relid = 'analytics.usage_counters'::regclass),
  9::bigint, 'every one of them HOT');

-- Day buckets follow the user's time zone, never the session's.
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SELECT analytics.record_chat_event('tokyo', 'gpt-4o', occurred_at => '2026-01-01 16:00+00') AS tokyo_id \gset
SELECT analytics.record_chat_event('utc-user', 'gpt-4o', occurred_at => '2026-01-01 23:30+00') AS utc_id \gset
SELECT analytics.record_chat_event('la', 'gpt-4o', occurred_at => '2026-01-02 03:00+00') AS la_id \gset
SELECT is((SELECT usage_date FROM analytics.chat_events WHERE id = :tokyo_id), '2026-01-02'::date,
  'Tokyo user: 16:00 UTC is the next day');
SELECT is((SELECT usage_date FROM analytics.chat_events WHERE id = :utc_id), '2026-01-01'::date,
  'user without subscription: UTC day, whatever the session TimeZone');
SELECT is((SELECT usage_date FROM analytics.chat_events WHERE id = :la_id), '2026-01-01'::date,
  'Los Angeles user: 03:00 UTC is the previous day');
SELECT set_eq('SELECT * FROM counted', 'SELECT * FROM recomputed', 'still equal after time-zone events');

-- The counter change for the extension's SQL (expiry, corrections) is the
-- write path's: one upsert, into this backend's slot.
SELECT analytics.counters_add('cx', '2026-01-01', requests => 2, cost => 0.5, pending_requests => -1) \gset
SELECT is((SELECT row(sum(requests), sum(cost), sum(pending_requests))::text FROM analytics.usage_counters
            WHERE user_id = 'cx' AND slot = analytics.backend_slot()), '(2,0.5,-1)', 'counters_add adds to this backend''s slot');
SELECT throws_ok($$SELECT analytics.counters_add('cx', '2026-01-01', requests => NULL)$$, '22004', NULL,
  'a NULL delta is an error, not a skip');

SELECT * FROM finish();
ROLLBACK;
