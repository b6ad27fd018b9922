-- Fuzzing of every C function's arguments (and the SQL entry points that
-- feed them): each case takes a valid call, replaces or drops one to three
-- arguments with hostile values of the argument's type (NULL, empty and
-- oversized strings, control characters, extreme and negative numbers, NaN
-- and infinities, infinite and far timestamps, odd JSON and arrays) and
-- runs it in a subtransaction.  Every case must end in a result or a clean
-- ERROR: a crash ends the run, and an internal error (class XX or 58) or a
-- bare RAISE (P0001) counts as unclean.  The usage GUCs are fuzzed too.
--
-- Run:  psql -X -c 'SET fuzz.cases = 100000' -f test/fuzz/args_fuzz.sql
-- in a database with the extension (as a superuser; it rolls back).
-- Prints one line per SQLSTATE and "unclean: 0".
\set ON_ERROR_STOP on
BEGIN;
SELECT setseed(0.4242);
SELECT analytics.ensure_partitions(1);
INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_token_limit, monthly_cost_limit,
                             max_tokens_per_request, enforcement, warn_thresholds)
VALUES ('fuzz', 'fuzz', 50, 100000, 5, 20000, 'hard', '{0.5,0.8,1.0}');
SELECT analytics.subscribe('fz1', 'fuzz'), analytics.subscribe('fz2', 'pro', now() - interval '1 day', 'Asia/Tokyo');

-- Hostile values by type, as literals.
CREATE TEMP TABLE pool (type text, lit text);
INSERT INTO pool SELECT 'text', v FROM unnest(ARRAY[
  NULL, '', ' ', 'fz1', 'fz2', 'gpt-4o', 'openai', 'completed', 'failed', 'pending', 'rejected', 'expired',
  repeat('x', 256), repeat('x', 257), repeat('é', 200), repeat('y', 20000), E'\t\n\r', 'a''b"c\\',
  '%s%n%x', chr(1), chr(127), 'ü', '🙂', 'analytics.fold()', ' fz1', 'fz1 ', 'NULL', 'usage_analytics:x',
  'openai/gpt-4o-2024-08-06', '/', 'a/', '/gpt-4o', '//gpt-4o', 'gpt-4o@20240101', '-2024-01-01', '@20240101',
  'x-20241301-v2:0', 'gpt-4o-2024-08-06-v:', 'gpt-4o-v2:0', 'gpt-4o-99999999', 'sample_spec']) v;
INSERT INTO pool SELECT 'bigint', v FROM unnest(ARRAY[
  NULL, '0', '-1', '1', '7', '1000', '2147483647', '2147483648', '-2147483648', '100000000', '100000001',
  '400000000', '400000001', '9223372036854775807', '-9223372036854775808', '86400000', '86400001']) v;
INSERT INTO pool SELECT 'integer', v FROM unnest(ARRAY[
  NULL, '0', '-1', '1', '3', '5', '6', '2147483647', '-2147483648', '100000']) v;
INSERT INTO pool SELECT 'numeric', v FROM unnest(ARRAY[
  NULL, '0', '-0', '-1', '0.000001', 'NaN', 'Infinity', '-Infinity', '1000000', '1000000.0000000001',
  '1e-300', '1e300', '123456789012345678901234567890.123456789', '3.14']) v;
INSERT INTO pool SELECT 'timestamp with time zone', v FROM unnest(ARRAY[
  NULL, 'now', 'infinity', '-infinity', '4713-01-01 00:00:00+00 BC', '294276-12-31 23:59:59+00',
  '1970-01-01 00:00:00+00', '2024-02-29 23:59:59.999999+14', '2100-01-01 00:00:00+00', 'epoch']) v;
INSERT INTO pool SELECT 'boolean', v FROM unnest(ARRAY[NULL, 'true', 'false']) v;
INSERT INTO pool SELECT 'jsonb', v FROM unnest(ARRAY[
  NULL, '{}', '[]', 'null', '"s"', '1', '{"a": null}', '{"a": [1, 2, {"b": "c"}]}',
  '{"k": "' || repeat('v', 20000) || '"}', repeat('[', 500) || repeat(']', 500),
  '[{"user_id": "fz1", "model": "gpt-4o"}]', '[{"user_id": 1, "model": []}]',
  '[{"user_id": "fz1", "model": "gpt-4o", "input_tokens": "many"}]',
  '[{"user_id": "fz1", "model": "gpt-4o", "input_tokens": 1e30}]',
  '[{"user_id": "fz1", "model": "gpt-4o", "occurred_at": "yesterday-ish"}]',
  '[{"user_id": "fz1", "model": "gpt-4o", "metadata": "not an object"}]',
  '[{"user_id": "fz1", "model": "gpt-4o", "unknown_key": 1}]', '[null, 1, "x"]',
  '{"prompt_tokens": -5, "completion_tokens": 1e20}', '{"input_tokens": "x", "output_tokens": null}',
  '{"prompt_tokens_details": {"cached_tokens": 99999999999}}',
  '{"usageMetadata": {"promptTokenCount": 5, "cachedContentTokenCount": 9}}', '{"usage": []}',
  '{"input_tokens_details": "x", "output_tokens_details": {"reasoning_tokens": -1}}',
  '{"gen_ai.usage.input_tokens": 1e300, "gen_ai.usage.output_tokens": 0.5}',
  '{"m": {"mode": "chat", "litellm_provider": "x", "input_cost_per_token": 1e-06, "output_cost_per_token": "1e-06"}}',
  '{"m": {"mode": "chat", "litellm_provider": "", "input_cost_per_token": "NaN", "output_cost_per_token": 1e300}}',
  '{"m": {"mode": ["chat"]}, "sample_spec": 1}']) v;
INSERT INTO pool SELECT 'text[]', v FROM unnest(ARRAY[
  NULL, '{}', '{NULL}', '{a,b}', '{""}', (SELECT array_agg(i)::text FROM generate_series(1, 5000) i)]) v;
INSERT INTO pool SELECT 'bigint[]', v FROM unnest(ARRAY[NULL, '{}', '{NULL}', '{1,2}', '{-1}', '{9223372036854775807}']) v;
INSERT INTO pool SELECT 'double precision', v FROM unnest(ARRAY[
  NULL, '0', '-0', '-1', '0.5', '1', '1.0000001', 'NaN', 'Infinity', '-Infinity', '1e-320', '1e308']) v;
-- Costs (analytics.amount): numeric's values.
INSERT INTO pool SELECT 'analytics.amount', p.lit FROM pool p WHERE p.type = 'numeric';
INSERT INTO pool SELECT 'double precision[]', v FROM unnest(ARRAY[
  NULL, '{}', '{NULL}', '{0,0.5,1}', '{-0.1}', '{1.1}', '{NaN}', '{0.5,NULL}',
  (SELECT array_agg(i / 10000.0)::text FROM generate_series(0, 10000) i)]) v;
INSERT INTO pool SELECT 'analytics.latency_sketch', v FROM unnest(ARRAY[
  NULL, (SELECT analytics.latency_sketch_agg(x)::text FROM generate_series(1, 100) x),
  (SELECT analytics.latency_sketch_agg(x)::text FROM (VALUES (0::float8), (1e300)) v(x)),
  (SELECT analytics.latency_sketch_agg(x)::text FROM generate_series(1, 0) x)]) v;

-- Valid calls to start from: function, then name => literal.
CREATE TEMP TABLE target (fn regprocedure, base jsonb);
INSERT INTO target VALUES
  ('analytics.record_chat_event(text,text,text,bigint,bigint,bigint,bigint,bigint,analytics.amount,double precision,double precision,text,text,text,text,timestamptz,text,text,text,text,text,text,text,text,boolean,text[],bigint,jsonb,text,bigint,bigint,text,inet,text)',
   '{"user_id": "fz1", "model": "gpt-4o", "input_tokens": "100", "output_tokens": "20", "response_time_ms": "50", "request_id": "r1", "document_id": "d", "metadata": "{\"k\": 1}", "model_version": "v1", "user_query_length": "40", "ai_response_length": "400", "complexity": "low", "ip_address": "10.0.0.1", "user_agent": "fz/1"}'),
  ('analytics.record_chat_events(jsonb)',
   '{"events": "[{\"user_id\": \"fz2\", \"model\": \"gpt-4o-mini\", \"input_tokens\": 5, \"request_id\": \"b1\"}, {\"user_id\": \"fz1\", \"model\": \"gpt-4o\"}]"}'),
  ('analytics.start_request(text,text,bigint,text,text,analytics.amount,text,text,text,text,text,text,text,text,jsonb,text,bigint,text,inet,text)',
   '{"user_id": "fz1", "model": "gpt-4o", "estimated_tokens": "100", "request_id": "s1", "model_version": "v1", "user_query_length": "40", "complexity": "high", "ip_address": "10.0.0.2", "user_agent": "fz/2"}'),
  ('analytics.complete_request(bigint,text,bigint,bigint,bigint,bigint,bigint,analytics.amount,double precision,double precision,text,text,boolean,text,text,text,bigint)',
   '{"user_id": "fz1", "request_id": "s0", "input_tokens": "90", "output_tokens": "10", "model_version": "v2", "ai_response_length": "300"}'),
  ('analytics.check_ledger(bigint,bigint,bigint,bigint,bigint,numeric)',
   '{"input_tokens": "10", "cached_input_tokens": "0", "cache_write_tokens": "0", "output_tokens": "5", "reasoning_tokens": "2", "cost": "0.5"}'),
  ('analytics.check_quota(text,bigint)', '{"user_id": "fz1", "tokens": "100"}'),
  ('analytics.check_quota(text,bigint,text,text,text)', '{"user_id": "fz2", "tokens": "100", "model": "gpt-4o", "provider": "openai", "org_id": "fzo"}'),
  ('analytics.price_request(text,text,timestamptz,bigint,bigint,bigint,bigint)',
   '{"p_model": "gpt-4o", "p_provider": "openai", "p_at": "now", "p_input": "1000", "p_cached": "10", "p_write": "0", "p_output": "50"}'),
  ('analytics.usage_snapshot(text,timestamptz)', '{"p_user_id": "fz1", "p_at": "now"}'),
  ('analytics.record_feedback(bigint,integer,text)', '{"event_id": "1", "rating": "4", "feedback_text": "ok"}'),
  ('analytics.correct_event(bigint,text,bigint,bigint,bigint,bigint,bigint,numeric)', '{"event_id": "1", "reason": "fix", "input_tokens": "3"}'),
  ('analytics.void_event(bigint,text)', '{"event_id": "2", "reason": "refund"}'),
  ('analytics.openai_usage(jsonb)', '{"usage": "{\"prompt_tokens\": 10, \"completion_tokens\": 3}"}'),
  ('analytics.anthropic_usage(jsonb)', '{"usage": "{\"input_tokens\": 10, \"output_tokens\": 3}"}'),
  ('analytics.gemini_usage(jsonb)', '{"usage": "{\"promptTokenCount\": 10, \"cachedContentTokenCount\": 4, \"candidatesTokenCount\": 3, \"totalTokenCount\": 13}"}'),
  ('analytics.bedrock_usage(jsonb)', '{"usage": "{\"inputTokens\": 10, \"outputTokens\": 3, \"totalTokens\": 13}"}'),
  ('analytics.openai_responses_usage(jsonb)', '{"usage": "{\"input_tokens\": 10, \"output_tokens\": 3, \"total_tokens\": 13}"}'),
  ('analytics.otel_genai_usage(jsonb)', '{"attributes": "{\"gen_ai.usage.input_tokens\": 10, \"gen_ai.usage.output_tokens\": 3}"}'),
  ('analytics.import_litellm_prices(jsonb,timestamptz,text[])',
   '{"catalog": "{\"fz-m\": {\"mode\": \"chat\", \"litellm_provider\": \"fz\", \"input_cost_per_token\": 1e-06, \"output_cost_per_token\": 2e-06}}", "effective_from": "2024-01-01"}'),
  ('analytics.record_chat_event(text,text,text,bigint,bigint,bigint,bigint,bigint,analytics.amount,double precision,double precision,text,text,text,text,timestamptz,text,text,text,text,text,text,text,text,boolean,text[],bigint,jsonb,text,bigint,bigint,text,inet,text)',
   '{"user_id": "fz2", "model": "openai/gpt-4o-2024-08-06", "input_tokens": "100", "output_tokens": "20"}'),
  ('analytics.quantile(analytics.latency_sketch,double precision)', '{"2": "0.5"}'),
  ('analytics.quantiles(analytics.latency_sketch,double precision[])', '{"2": "{0.5,0.9}"}'),
  ('analytics.latency_sketch_union(analytics.latency_sketch,analytics.latency_sketch)', '{}'),
  ('analytics.sketch_count(analytics.latency_sketch)', '{}'),
  ('analytics.sketch_min(analytics.latency_sketch)', '{}'),
  ('analytics.latency_sketch_to_bytea(analytics.latency_sketch)', '{}'),
  ('analytics.notify_thresholds(text)', '{"user_id": "fz1"}'),
  ('analytics.text_set_union(text[],text[])', '{"a": "{a,c}", "b": "{b,c}"}'),
  ('analytics.user_dashboard(text)', '{"p_user_id": "fz1"}'),
  ('analytics.get_user_request_history(text,integer,integer)', '{"p_user_id": "fz1", "p_limit": "5", "p_offset": "0"}'),
  ('analytics.subscribe(text,text,timestamptz,text,timestamptz,text)', '{"user_id": "fz3", "plan_id": "pro", "time_zone": "Europe/Paris", "ends_at": "2099-01-01"}'),
  ('analytics.create_organization(text,text,text,text,text,numeric,text,jsonb,text)',
   '{"org_id": "fzn", "name": "Fz New", "time_zone": "Europe/Paris", "currency": "EUR", "tax_rate": "0.2", "billing_email": "b@fz.example", "metadata": "{}", "owner_id": "fz1"}'),
  ('analytics.update_organization(text,text,text,text,text,numeric,text,jsonb)', '{"org_id": "fzo", "name": "Fz Org 2", "time_zone": "UTC"}'),
  ('analytics.add_member(text,text,text,bigint,bigint,numeric)', '{"org_id": "fzo", "user_id": "fz4", "role": "admin", "monthly_cost_cap": "2.5"}'),
  ('analytics.update_member(text,text,text,bigint,bigint,numeric,boolean)', '{"org_id": "fzo", "user_id": "fz2", "role": "viewer", "monthly_request_cap": "5"}'),
  ('analytics.remove_member(text,text)', '{"org_id": "fzo", "user_id": "fz2"}'),
  ('analytics.suspend_organization(text)', '{"org_id": "fzo"}');
-- An organization with an owner and a member.
SELECT analytics.create_organization('fzo', 'Fz Org', owner_id => 'fz1'), analytics.add_member('fzo', 'fz2');
-- One settled request to complete again, two events to rate and correct.
SELECT analytics.record_chat_event('fz1', 'gpt-4o', input_tokens => 1, request_id => 'e1'),
       analytics.record_chat_event('fz1', 'gpt-4o', input_tokens => 1, request_id => 'e2'),
       (analytics.start_request('fz1', 'gpt-4o', 5, request_id => 's0')).event_id;

-- A function's input arguments: key (name, or position when unnamed),
-- type, and whether it has a default.
CREATE TEMP VIEW target_args AS
SELECT p.oid AS fn, a.ord, COALESCE(NULLIF(a.name, ''), a.ord::text) AS key, NULLIF(a.name, '') AS name,
       format_type(a.typ, NULL) AS type, a.ord > p.pronargs - p.pronargdefaults AS has_default
  FROM pg_proc p,
       unnest(COALESCE(p.proargnames[1:p.pronargs], array_fill(''::text, ARRAY[p.pronargs])),
              p.proargtypes::oid[]) WITH ORDINALITY AS a(name, typ, ord);

DO $$
DECLARE
  n integer := coalesce(nullif(current_setting('fuzz.cases', true), ''), '100000')::integer;
  t record;
  args jsonb;
  arg record;
  sql text;
  st text;
  unclean integer := 0;
  counts jsonb := '{}';
  k text;
BEGIN
  FOR i IN 1..n LOOP
    SELECT * INTO t FROM target ORDER BY random() LIMIT 1;
    args := t.base;
    -- Mutate one to three arguments: a hostile value of its type, or drop it.
    FOR j IN 1..(1 + floor(random() * 3)::int) LOOP
      SELECT * INTO arg FROM target_args a WHERE a.fn = t.fn ORDER BY random() LIMIT 1;
      EXIT WHEN NOT FOUND;
      IF random() < 0.1 THEN
        args := args - arg.key;
      ELSE
        args := jsonb_set(args, ARRAY[arg.key],
                          COALESCE((SELECT to_jsonb(p.lit) FROM pool p WHERE p.type = arg.type ORDER BY random() LIMIT 1),
                                   'null'));
      END IF;
    END LOOP;
    -- Named notation where arguments have names; a missing argument without
    -- a default gets a value of the pool.
    SELECT format('SELECT %s(%s)', t.fn::regproc::text,
                  string_agg(CASE WHEN args ? a.key THEN format('%s%L::%s', a.name || ' => ', args->>a.key, a.type)
                                  WHEN NOT a.has_default THEN
                                    format('%s%L::%s', a.name || ' => ',
                                           (SELECT pl.lit FROM pool pl WHERE pl.type = a.type ORDER BY random() LIMIT 1),
                                           a.type) END,
                             ', ' ORDER BY a.ord))
      INTO sql
      FROM target_args a WHERE a.fn = t.fn;
    -- The identity GUC, sometimes hostile too.
    BEGIN
      IF random() < 0.1 THEN
        PERFORM set_config('usage_analytics.user_id',
                           (SELECT COALESCE(p.lit, '') FROM pool p WHERE p.type = 'text' ORDER BY random() LIMIT 1), true);
      END IF;
      EXECUTE sql;
      st := 'ok';
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
      IF st LIKE 'XX%' OR st LIKE '58%' OR st = 'P0001' THEN
        unclean := unclean + 1;
        RAISE WARNING 'unclean % from %: %', st, left(sql, 300), SQLERRM;
      END IF;
    END;
    counts := jsonb_set(counts, ARRAY[st], to_jsonb(COALESCE((counts->>st)::int, 0) + 1));
  END LOOP;
  FOR k IN SELECT jsonb_object_keys(counts) ORDER BY 1 LOOP
    RAISE NOTICE 'fuzz: % %', k, counts->>k;
  END LOOP;
  RAISE NOTICE 'fuzz: % cases, unclean: %', n, unclean;
  IF unclean > 0 THEN
    RAISE EXCEPTION 'fuzz: % unclean errors', unclean USING ERRCODE = 'XX000';
  END IF;
END
$$;
ROLLBACK;
