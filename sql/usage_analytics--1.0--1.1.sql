/*-------------------------------------------------------------------------
 * usage_analytics--1.0--1.1.sql
 *    Corrections: void or adjust a recorded event (a refund, wrong token
 *    counts), with the reason and the acting role kept in
 *    analytics.event_corrections.  Counters, rollups, quota answers and
 *    threshold notifications follow.
 *    Payload retention: usage_analytics.payload_retention_days clears the
 *    free text of older events (clear_payloads, run by apply_retention).
 *    The fold in C: fold_range reads its batch once and aggregates it in
 *    memory (fold.c); sketches and distinct sets are compressed with lz4.
 *    Prices and quota snapshots in C (subject.c): price_request and
 *    usage_snapshot read by index scans, as the write path does.
 *
 * A fresh install of 1.1 runs the 1.0 script and then this one, so both
 * paths build the same catalog (test/t/004_upgrade.pl compares them).
 *-------------------------------------------------------------------------
 */
\echo Use "ALTER EXTENSION usage_analytics UPDATE TO '1.1'" to load this file. \quit

CREATE SEQUENCE analytics.event_corrections_correction_id_seq AS bigint;
CREATE TABLE analytics.event_corrections (
  correction_id       bigint PRIMARY KEY
                      DEFAULT pg_catalog.nextval('analytics.event_corrections_correction_id_seq'),
  event_id            bigint NOT NULL,
  user_id             text NOT NULL,
  occurred_at         timestamptz NOT NULL,
  kind                text NOT NULL CHECK (kind IN ('void', 'adjust')),
  reason              text NOT NULL CHECK (reason <> ''),
  actor               name NOT NULL,
  corrected_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  before              jsonb NOT NULL,
  after               jsonb NOT NULL
);
ALTER SEQUENCE analytics.event_corrections_correction_id_seq OWNED BY analytics.event_corrections.correction_id;
CREATE INDEX event_corrections_event_idx ON analytics.event_corrections (event_id);
CREATE INDEX event_corrections_user_idx ON analytics.event_corrections (user_id, corrected_at);
COMMENT ON TABLE analytics.event_corrections IS
  'Every void and adjustment of a recorded event: figures before and after, the reason and the acting role';

ALTER TABLE analytics.event_corrections ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_corrections_read ON analytics.event_corrections FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));

SELECT pg_catalog.pg_extension_config_dump('analytics.event_corrections', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.event_corrections_correction_id_seq', '');

/*
 * Corrects the token counts and cost of a finished event.  NULL keeps a
 * figure.  Changed token counts of an event priced from model_prices are
 * priced again at the price in force when it occurred, unless new_cost is
 * given.  A void sets every figure to zero: the request stays counted as a
 * request (with its latency and rating), its usage and cost are refunded.
 * Internal: correct_event and void_event call it.
 */
CREATE FUNCTION analytics.apply_correction(p_event bigint, p_kind text, p_reason text,
    p_input bigint, p_cached bigint, p_write bigint, p_output bigint, p_reasoning bigint,
    p_cost numeric)
  RETURNS analytics.event_corrections
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  w      bigint;
  e      analytics.chat_events;
  n      analytics.chat_events;
  p      record;
  d      record;
  result analytics.event_corrections;
BEGIN
  IF p_event IS NULL THEN
    RAISE EXCEPTION 'event_id must not be null' USING ERRCODE = '23502';
  END IF;
  IF p_reason IS NULL THEN
    RAISE EXCEPTION 'reason must not be null' USING ERRCODE = '23502';
  END IF;
  IF btrim(p_reason) = '' THEN
    RAISE EXCEPTION 'reason must not be empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(p_reason) > 1000 THEN
    RAISE EXCEPTION 'reason is too long' USING ERRCODE = '22001',
      DETAIL = 'At most 1000 bytes.';
  END IF;
  SELECT a.name, a.v INTO p
    FROM (VALUES ('input_tokens', p_input), ('cached_input_tokens', p_cached),
                 ('cache_write_tokens', p_write), ('output_tokens', p_output),
                 ('reasoning_tokens', p_reasoning)) AS a(name, v)
   WHERE a.v < 0 OR a.v > 100000000 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '% must be between 0 and 100000000', p.name USING ERRCODE = '22023';
  END IF;
  IF p_cost = 'NaN' OR p_cost IN ('Infinity', '-Infinity') THEN
    RAISE EXCEPTION 'cost must be a finite number' USING ERRCODE = '22023';
  END IF;
  IF p_cost < 0 THEN
    RAISE EXCEPTION 'cost must not be negative' USING ERRCODE = '22023';
  END IF;
  IF p_cost > 1000000 THEN
    RAISE EXCEPTION 'cost must be at most 1000000 USD' USING ERRCODE = '22023';
  END IF;

  -- Hold the fold back while we decide whether the event is folded.
  SELECT f.watermark INTO w FROM analytics.fold_state f FOR SHARE;
  SELECT c.* INTO e FROM analytics.chat_events c WHERE c.id = p_event FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'event % does not exist', p_event USING ERRCODE = '42704';
  END IF;
  IF e.status NOT IN ('completed', 'failed') THEN
    RAISE EXCEPTION 'event % is % and has no usage to correct', p_event, e.status
      USING ERRCODE = '55000',
            HINT = CASE WHEN e.status = 'pending' THEN 'Settle it with analytics.complete_request().' END;
  END IF;
  IF EXISTS (SELECT 1 FROM analytics.event_corrections x WHERE x.event_id = p_event AND x.kind = 'void') THEN
    RAISE EXCEPTION 'event % is voided', p_event USING ERRCODE = '55000';
  END IF;

  n := e;
  n.input_tokens := COALESCE(p_input, e.input_tokens);
  n.cached_input_tokens := COALESCE(p_cached, e.cached_input_tokens);
  n.cache_write_tokens := COALESCE(p_write, e.cache_write_tokens);
  n.output_tokens := COALESCE(p_output, e.output_tokens);
  n.reasoning_tokens := COALESCE(p_reasoning, e.reasoning_tokens);
  IF n.reasoning_tokens > n.output_tokens THEN
    RAISE EXCEPTION 'reasoning_tokens must not exceed output_tokens' USING ERRCODE = '22023';
  END IF;
  IF p_cost IS NOT NULL THEN
    n.cost := p_cost;
    n.cost_source := 'provided';
    n.cost_input := NULL; n.cost_cached_input := NULL; n.cost_cache_write := NULL;
    n.cost_output := NULL; n.cache_savings := NULL;
  ELSIF e.cost_source = 'computed' AND (n.input_tokens, n.cached_input_tokens, n.cache_write_tokens, n.output_tokens)
                                       IS DISTINCT FROM
                                       (e.input_tokens, e.cached_input_tokens, e.cache_write_tokens, e.output_tokens) THEN
    SELECT * INTO p FROM analytics.price_request(e.model, e.provider, e.occurred_at, n.input_tokens,
                                                 n.cached_input_tokens, n.cache_write_tokens, n.output_tokens);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'model "%" has no price in force at %', e.model, e.occurred_at USING ERRCODE = '42704',
        HINT = 'Pass cost, or add the price to analytics.model_prices.';
    END IF;
    n.cost_input := p.cost_input; n.cost_cached_input := p.cost_cached_input;
    n.cost_cache_write := p.cost_cache_write; n.cost_output := p.cost_output;
    n.cache_savings := p.cache_savings;
    n.cost := p.cost_input + p.cost_cached_input + p.cost_cache_write + p.cost_output;
  END IF;
  IF (n.input_tokens, n.cached_input_tokens, n.cache_write_tokens, n.output_tokens, n.reasoning_tokens, n.cost)
     IS NOT DISTINCT FROM
     (e.input_tokens, e.cached_input_tokens, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens, e.cost)
     AND p_kind = 'adjust' THEN
    RAISE EXCEPTION 'the correction changes nothing' USING ERRCODE = '22023';
  END IF;

  UPDATE analytics.chat_events c
     SET input_tokens = n.input_tokens, cached_input_tokens = n.cached_input_tokens,
         cache_write_tokens = n.cache_write_tokens, output_tokens = n.output_tokens,
         reasoning_tokens = n.reasoning_tokens, cost = n.cost, cost_source = n.cost_source,
         cost_input = n.cost_input, cost_cached_input = n.cost_cached_input,
         cost_cache_write = n.cost_cache_write, cost_output = n.cost_output, cache_savings = n.cache_savings
   WHERE c.user_id = e.user_id AND c.occurred_at = e.occurred_at AND c.id = e.id;

  SELECT n.input_tokens - e.input_tokens AS input, n.cached_input_tokens - e.cached_input_tokens AS cached,
         n.cache_write_tokens - e.cache_write_tokens AS write, n.output_tokens - e.output_tokens AS output,
         n.reasoning_tokens - e.reasoning_tokens AS reasoning,
         (n.input_tokens + n.cached_input_tokens + n.cache_write_tokens + n.output_tokens)
           - (e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens) AS total,
         n.cost - e.cost AS cost,
         COALESCE(n.cache_savings, 0) - COALESCE(e.cache_savings, 0) AS savings
    INTO d;

  -- The counters, in this transaction: quota answers follow at once.
  INSERT INTO analytics.usage_counters AS u (user_id, usage_date, slot, input_tokens, cached_input_tokens,
      cache_write_tokens, output_tokens, reasoning_tokens, cost, cache_savings)
  VALUES (e.user_id, e.usage_date, analytics.backend_slot(), d.input, d.cached, d.write, d.output,
          d.reasoning, d.cost, d.savings)
  ON CONFLICT (user_id, usage_date, slot) DO UPDATE SET
    input_tokens = u.input_tokens + EXCLUDED.input_tokens,
    cached_input_tokens = u.cached_input_tokens + EXCLUDED.cached_input_tokens,
    cache_write_tokens = u.cache_write_tokens + EXCLUDED.cache_write_tokens,
    output_tokens = u.output_tokens + EXCLUDED.output_tokens,
    reasoning_tokens = u.reasoning_tokens + EXCLUDED.reasoning_tokens,
    cost = u.cost + EXCLUDED.cost,
    cache_savings = u.cache_savings + EXCLUDED.cache_savings;

  -- Folded already: move the rollups that hold tokens and cost.  (Not yet
  -- folded: the fold reads the corrected row.)
  IF e.recorded_xid < w THEN
    UPDATE analytics.rollup_user_models r
       SET input_tokens = r.input_tokens + d.input, cached_input_tokens = r.cached_input_tokens + d.cached,
           cache_write_tokens = r.cache_write_tokens + d.write, output_tokens = r.output_tokens + d.output,
           reasoning_tokens = r.reasoning_tokens + d.reasoning, cost = r.cost + d.cost
     WHERE r.user_id = e.user_id AND r.usage_date = e.usage_date
       AND r.provider = COALESCE(e.provider, '') AND r.model = e.model;
    UPDATE analytics.rollup_system_models r
       SET tokens_total = r.tokens_total + d.total, cached_input_tokens = r.cached_input_tokens + d.cached,
           cost = r.cost + d.cost, cache_savings = r.cache_savings + d.savings
     WHERE r.usage_date = (e.occurred_at AT TIME ZONE 'UTC')::date
       AND r.provider = COALESCE(e.provider, '') AND r.model = e.model;
    IF e.document_id IS NOT NULL THEN
      UPDATE analytics.rollup_documents r
         SET tokens_total = r.tokens_total + d.total, cost = r.cost + d.cost
       WHERE r.document_id = e.document_id AND r.usage_date = (e.occurred_at AT TIME ZONE 'UTC')::date;
    END IF;
  END IF;

  INSERT INTO analytics.event_corrections AS x (event_id, user_id, occurred_at, kind, reason, actor, before, after)
  VALUES (e.id, e.user_id, e.occurred_at, p_kind, p_reason,
          CASE WHEN current_setting('role') = 'none' THEN session_user ELSE current_setting('role')::name END,
          jsonb_build_object('input_tokens', e.input_tokens, 'cached_input_tokens', e.cached_input_tokens,
                             'cache_write_tokens', e.cache_write_tokens, 'output_tokens', e.output_tokens,
                             'reasoning_tokens', e.reasoning_tokens, 'cost', e.cost, 'cost_source', e.cost_source),
          jsonb_build_object('input_tokens', n.input_tokens, 'cached_input_tokens', n.cached_input_tokens,
                             'cache_write_tokens', n.cache_write_tokens, 'output_tokens', n.output_tokens,
                             'reasoning_tokens', n.reasoning_tokens, 'cost', n.cost, 'cost_source', n.cost_source))
  RETURNING x.* INTO result;

  -- More usage may cross a threshold: notify as recording would.
  IF d.total > 0 OR d.cost > 0 THEN
    PERFORM analytics.notify_thresholds(e.user_id);
  END IF;
  RETURN result;
END
$$;
COMMENT ON FUNCTION analytics.apply_correction(bigint, text, text, bigint, bigint, bigint, bigint, bigint, numeric) IS
  'Applies a void or an adjustment to an event, its counters and rollups, and logs it (internal)';

CREATE FUNCTION analytics.notify_thresholds(user_id text) RETURNS void
  LANGUAGE C VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_notify_thresholds_sql';
COMMENT ON FUNCTION analytics.notify_thresholds(text) IS
  'Records and announces the thresholds a user''s usage has reached (internal)';

CREATE FUNCTION analytics.correct_event(event_id bigint, reason text,
    input_tokens bigint DEFAULT NULL, cached_input_tokens bigint DEFAULT NULL,
    cache_write_tokens bigint DEFAULT NULL, output_tokens bigint DEFAULT NULL,
    reasoning_tokens bigint DEFAULT NULL, cost numeric DEFAULT NULL)
  RETURNS analytics.event_corrections
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT analytics.apply_correction(event_id, 'adjust', reason, input_tokens, cached_input_tokens,
                                          cache_write_tokens, output_tokens, reasoning_tokens, cost) $$;
COMMENT ON FUNCTION analytics.correct_event(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric) IS
  'Adjusts the token counts and/or cost of a finished event (NULL keeps a figure; tokens are priced again unless cost is given), with a reason; returns the correction';

CREATE FUNCTION analytics.void_event(event_id bigint, reason text)
  RETURNS analytics.event_corrections
  LANGUAGE sql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT analytics.apply_correction(event_id, 'void', reason, 0, 0, 0, 0, 0, 0) $$;
COMMENT ON FUNCTION analytics.void_event(bigint, text) IS
  'Refunds a finished event: its tokens and cost become zero everywhere (it stays counted as a request), with a reason; returns the correction';

/*
 * Payload retention: events keep their figures for retention_months, their
 * free text (metadata, error_message, feedback_text, which may hold prompt
 * or response fragments) for usage_analytics.payload_retention_days.
 */
ALTER TABLE analytics.fold_state ADD COLUMN payloads_cleared_before timestamptz;
COMMENT ON COLUMN analytics.fold_state.payloads_cleared_before IS
  'Events that occurred before this have had their free text cleared by clear_payloads()';

CREATE OR REPLACE FUNCTION analytics.fold_state_restore() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  UPDATE analytics.fold_state f
     SET watermark = NEW.watermark, folded_at = NEW.folded_at, events_folded = NEW.events_folded,
         retained_from = NEW.retained_from, payloads_cleared_before = NEW.payloads_cleared_before,
         system_identifier = analytics.system_identifier(),
         needs_repair = NEW.needs_repair OR NEW.system_identifier <> analytics.system_identifier();
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION analytics.fold_state_restore() IS
  'Trigger: a restored fold_state row replaces the installed one (internal)';

CREATE FUNCTION analytics.clear_payloads() RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  days   integer := current_setting('usage_analytics.payload_retention_days')::integer;
  cutoff timestamptz;
  since  timestamptz;
  n      bigint;
BEGIN
  IF days = 0 THEN
    RETURN 0;
  END IF;
  cutoff := now() - make_interval(days => days);
  -- Each run clears from where the last one stopped.
  SELECT f.payloads_cleared_before INTO since FROM analytics.fold_state f FOR UPDATE;
  IF since >= cutoff THEN
    RETURN 0;
  END IF;
  UPDATE analytics.chat_events e
     SET metadata = NULL, error_message = NULL, feedback_text = NULL
   WHERE e.occurred_at < cutoff AND (since IS NULL OR e.occurred_at >= since)
     AND (e.metadata IS NOT NULL OR e.error_message IS NOT NULL OR e.feedback_text IS NOT NULL);
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE analytics.fold_state SET payloads_cleared_before = cutoff;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.clear_payloads() IS
  'Clears metadata, error_message and feedback_text of events older than usage_analytics.payload_retention_days (0: never); apply_retention() calls it; returns how many events it cleared';

CREATE OR REPLACE FUNCTION analytics.apply_retention() RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  months integer := current_setting('usage_analytics.retention_months')::integer;
  cutoff timestamptz;
  p record;
  dropped integer := 0;
BEGIN
  -- Keep the current UTC month and the retention_months before it.
  cutoff := (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => months)) AT TIME ZONE 'UTC';
  -- Fold first: what is dropped must be in the rollups.
  PERFORM analytics.fold();
  PERFORM 1 FROM analytics.fold_state FOR UPDATE;
  FOR p IN
    SELECT c.oid::regclass AS part, c.relname,
           to_timestamp(substr(c.relname, 13) || '01', 'YYYYMMDD') AT TIME ZONE 'UTC' AT TIME ZONE 'UTC' AS month_start
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'analytics.chat_events'::regclass
       AND c.relname ~ '^chat_events_[0-9]{6}$'
     ORDER BY c.relname
  LOOP
    CONTINUE WHEN (p.month_start + interval '1 month') > cutoff;
    EXECUTE format('DROP TABLE %s', p.part);
    dropped := dropped + 1;
  END LOOP;
  IF dropped > 0 THEN
    DELETE FROM analytics.request_keys k WHERE k.occurred_at < cutoff;
    UPDATE analytics.fold_state
       SET retained_from = GREATEST(COALESCE(retained_from, cutoff), cutoff);
  END IF;
  PERFORM analytics.clear_payloads();
  RETURN dropped;
END
$$;
COMMENT ON FUNCTION analytics.apply_retention() IS
  'Drops the monthly partitions of chat_events older than usage_analytics.retention_months (after folding them) and clears payloads older than usage_analytics.payload_retention_days; counters and rollups are kept; returns how many partitions it dropped';

-- The fold in C (fold.c): one pass over the batch, every rollup aggregated
-- in memory, one upsert per rollup.  Same signature, rights and results as
-- the SQL version of 1.0 (tests compare the rollups with the raw log).
CREATE OR REPLACE FUNCTION analytics.fold_range(lo bigint, hi bigint, d_from date, d_to date)
  RETURNS bigint
  LANGUAGE C VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_fold_range';

-- Price and quota snapshot in C (subject.c): index scans of the price book,
-- plans and counters, shared by the write path, check_quota, admission and
-- the threshold notifications.  Same signatures and results as the SQL
-- versions of 1.0; still internal (EXECUTE for the owner only).
CREATE OR REPLACE FUNCTION analytics.price_request(
    p_model text, p_provider text, p_at timestamptz,
    p_input bigint, p_cached bigint, p_write bigint, p_output bigint,
    OUT provider text, OUT cost_input numeric, OUT cost_cached_input numeric,
    OUT cost_cache_write numeric, OUT cost_output numeric, OUT cache_savings numeric)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE C STABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_price_request_srf';

CREATE OR REPLACE FUNCTION analytics.usage_snapshot(p_user_id text, p_at timestamptz,
    OUT plan_id text, OUT plan_found boolean, OUT month_start date,
    OUT day_resets_at timestamptz, OUT month_resets_at timestamptz,
    OUT day_requests bigint, OUT month_requests bigint,
    OUT month_tokens bigint, OUT month_cost numeric,
    OUT daily_request_limit bigint, OUT monthly_request_limit bigint,
    OUT monthly_token_limit bigint, OUT monthly_cost_limit numeric,
    OUT max_tokens_per_request bigint, OUT enforcement text,
    OUT warn_thresholds numeric[], OUT today date)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE C STABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_usage_snapshot_srf';

-- The 1.0 fold's aggregate for distinct sets: fold.c builds them now.
DROP AGGREGATE analytics.text_set_agg(text);
DROP FUNCTION analytics.text_set_final(internal);

-- Every fold rewrites the sketches and distinct sets of the days it
-- touches; lz4 compresses them several times faster than pglz (servers
-- built without lz4 keep the default).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_settings
              WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE analytics.rollup_user_daily
      ALTER COLUMN latency SET COMPRESSION lz4, ALTER COLUMN ttft SET COMPRESSION lz4;
    ALTER TABLE analytics.rollup_user_monthly
      ALTER COLUMN latency SET COMPRESSION lz4, ALTER COLUMN ttft SET COMPRESSION lz4;
    ALTER TABLE analytics.rollup_documents ALTER COLUMN latency SET COMPRESSION lz4;
    ALTER TABLE analytics.rollup_system_models ALTER COLUMN latency SET COMPRESSION lz4;
    ALTER TABLE analytics.rollup_distinct ALTER COLUMN items SET COMPRESSION lz4;
  END IF;
END
$$;

REVOKE ALL ON FUNCTION analytics.apply_correction(bigint, text, text, bigint, bigint, bigint, bigint, bigint, numeric),
                       analytics.notify_thresholds(text),
                       analytics.correct_event(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric),
                       analytics.void_event(bigint, text),
                       analytics.clear_payloads() FROM PUBLIC;
REVOKE ALL ON TABLE analytics.event_corrections FROM PUBLIC;
REVOKE ALL ON SEQUENCE analytics.event_corrections_correction_id_seq FROM PUBLIC;

-- Who may read and make corrections; roles bound before this update get
-- the new privileges of their kind now.
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.event_corrections', 'SELECT'),
  ('app_backend', 'FUNCTION', 'analytics.correct_event(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric)', 'EXECUTE'),
  ('app_backend', 'FUNCTION', 'analytics.void_event(bigint, text)', 'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.correct_event(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric)', 'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.void_event(bigint, text)', 'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.clear_payloads()', 'EXECUTE');
SELECT analytics.apply_privileges(b.role_name, b.kind, b.org_id IS NOT NULL, true)
  FROM analytics.role_bindings b
 WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = b.role_name);

-- ==== issue 11: real clients (floats from drivers, identity through pools) ====
/*
 * Drivers send what their language has: psycopg a Python float as double
 * precision, node-pg every value as an untyped string, PostgREST each JSON
 * value through json_to_recordset typed as the argument.  bigint latencies
 * and a numeric cost accepted neither double precision (42883) nor '812.7'
 * (22P02).  Latencies are double precision now (rounded to whole
 * milliseconds by the C code).  Costs are analytics.amount: a numeric
 * (same representation and input) that numeric converts to for free and
 * integers and double precision convert to implicitly, through their text
 * form (so 0.0123::float8 is 0.0123); untyped and JSON values are read as
 * numeric text, exactly.  The C functions still accept the 1.0
 * declarations.
 */
CREATE TYPE analytics.amount;
CREATE FUNCTION analytics.amount_in(cstring, oid, integer) RETURNS analytics.amount
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'numeric_in';
CREATE FUNCTION analytics.amount_out(analytics.amount) RETURNS cstring
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'numeric_out';
CREATE FUNCTION analytics.amount_recv(internal, oid, integer) RETURNS analytics.amount
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'numeric_recv';
CREATE FUNCTION analytics.amount_send(analytics.amount) RETURNS bytea
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'numeric_send';
CREATE TYPE analytics.amount (
  INPUT = analytics.amount_in, OUTPUT = analytics.amount_out,
  RECEIVE = analytics.amount_recv, SEND = analytics.amount_send,
  LIKE = pg_catalog.numeric, CATEGORY = 'N');
COMMENT ON TYPE analytics.amount IS
  'An amount of money in USD as a function argument: numeric, taken implicitly from numeric, integers, double precision (its text form) and untyped or JSON text';
COMMENT ON FUNCTION analytics.amount_in(cstring, oid, integer) IS 'Text input of amount (numeric''s)';
COMMENT ON FUNCTION analytics.amount_out(analytics.amount) IS 'Text output of amount (numeric''s)';
COMMENT ON FUNCTION analytics.amount_recv(internal, oid, integer) IS 'Binary input of amount (numeric''s)';
COMMENT ON FUNCTION analytics.amount_send(analytics.amount) IS 'Binary output of amount (numeric''s)';
CREATE CAST (numeric AS analytics.amount) WITHOUT FUNCTION AS IMPLICIT;
CREATE CAST (smallint AS analytics.amount) WITH INOUT AS IMPLICIT;
CREATE CAST (integer AS analytics.amount) WITH INOUT AS IMPLICIT;
CREATE CAST (bigint AS analytics.amount) WITH INOUT AS IMPLICIT;
CREATE CAST (real AS analytics.amount) WITH INOUT AS IMPLICIT;
CREATE CAST (double precision AS analytics.amount) WITH INOUT AS IMPLICIT;

DROP FUNCTION analytics.record_chat_event_keys();
DROP FUNCTION analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb);
DROP FUNCTION analytics.start_request(text, text, bigint, text, text, numeric, text, text, text, text, text, text, text, text, jsonb);
DROP FUNCTION analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, boolean, text, text);

CREATE FUNCTION analytics.record_chat_event(
    user_id                text,
    model                  text,
    provider               text             DEFAULT NULL,
    input_tokens           bigint           DEFAULT 0,
    cached_input_tokens    bigint           DEFAULT 0,
    cache_write_tokens     bigint           DEFAULT 0,
    output_tokens          bigint           DEFAULT 0,
    reasoning_tokens       bigint           DEFAULT 0,
    cost                   analytics.amount DEFAULT NULL,
    response_time_ms       double precision DEFAULT NULL,
    time_to_first_token_ms double precision DEFAULT NULL,
    status                 text             DEFAULT 'completed',
    error_code             text             DEFAULT NULL,
    error_message          text             DEFAULT NULL,
    request_id             text             DEFAULT NULL,
    occurred_at            timestamptz      DEFAULT NULL,
    org_id                 text             DEFAULT NULL,
    conversation_id        text             DEFAULT NULL,
    message_id             text             DEFAULT NULL,
    document_id            text             DEFAULT NULL,
    session_id             text             DEFAULT NULL,
    request_type           text             DEFAULT NULL,
    category               text             DEFAULT NULL,
    query_intent           text             DEFAULT NULL,
    cache_hit              boolean          DEFAULT NULL,
    sections_referenced    text[]           DEFAULT NULL,
    intermediate_steps     bigint           DEFAULT NULL,
    metadata               jsonb            DEFAULT NULL)
  RETURNS bigint
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_record_chat_event';
COMMENT ON FUNCTION analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb) IS
  'Records a finished LLM request (completed or failed): validates, prices, logs and counts it in one step; idempotent on (user_id, request_id); returns the event id';

CREATE FUNCTION analytics.record_chat_event_keys() RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  BEGIN ATOMIC
    SELECT pg_catalog.array_agg(a.n ORDER BY a.i)
      FROM pg_catalog.unnest(
             (SELECT p.proargnames FROM pg_catalog.pg_proc p
               WHERE p.oid = 'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb)'::pg_catalog.regprocedure))
           WITH ORDINALITY AS a(n, i);
  END;
COMMENT ON FUNCTION analytics.record_chat_event_keys() IS
  'Argument names of record_chat_event, accepted as keys by record_chat_events';

-- The batch: JSON numbers with a fraction are latencies too (rounded).
CREATE OR REPLACE FUNCTION analytics.record_chat_events(events jsonb) RETURNS SETOF bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  e     jsonb;
  i     integer := 0;
  bad   text;
  v_id  bigint;
BEGIN
  IF events IS NULL OR jsonb_typeof(events) <> 'array' THEN
    RAISE EXCEPTION 'events must be a JSON array of objects' USING ERRCODE = '22023';
  END IF;
  FOR e IN SELECT x FROM jsonb_array_elements(events) AS x LOOP
    i := i + 1;
    IF jsonb_typeof(e) <> 'object' THEN
      RAISE EXCEPTION 'event % is not a JSON object', i USING ERRCODE = '22023';
    END IF;
    SELECT k INTO bad FROM jsonb_object_keys(e) AS k
     WHERE k <> ALL (analytics.record_chat_event_keys()) LIMIT 1;
    IF bad IS NOT NULL THEN
      RAISE EXCEPTION 'event % has unknown key "%"', i, bad
        USING ERRCODE = '22023', HINT = 'Keys are the argument names of analytics.record_chat_event.';
    END IF;
    v_id := analytics.record_chat_event(
      user_id                => e->>'user_id',
      model                  => e->>'model',
      provider               => e->>'provider',
      input_tokens           => COALESCE((e->>'input_tokens')::bigint, 0),
      cached_input_tokens    => COALESCE((e->>'cached_input_tokens')::bigint, 0),
      cache_write_tokens     => COALESCE((e->>'cache_write_tokens')::bigint, 0),
      output_tokens          => COALESCE((e->>'output_tokens')::bigint, 0),
      reasoning_tokens       => COALESCE((e->>'reasoning_tokens')::bigint, 0),
      cost                   => (e->>'cost')::numeric,
      response_time_ms       => (e->>'response_time_ms')::double precision,
      time_to_first_token_ms => (e->>'time_to_first_token_ms')::double precision,
      status                 => COALESCE(e->>'status', 'completed'),
      error_code             => e->>'error_code',
      error_message          => e->>'error_message',
      request_id             => e->>'request_id',
      occurred_at            => (e->>'occurred_at')::timestamptz,
      org_id                 => e->>'org_id',
      conversation_id        => e->>'conversation_id',
      message_id             => e->>'message_id',
      document_id            => e->>'document_id',
      session_id             => e->>'session_id',
      request_type           => e->>'request_type',
      category               => e->>'category',
      query_intent           => e->>'query_intent',
      cache_hit              => (e->>'cache_hit')::boolean,
      sections_referenced    => CASE WHEN e ? 'sections_referenced' AND jsonb_typeof(e->'sections_referenced') = 'array'
                                     THEN ARRAY(SELECT jsonb_array_elements_text(e->'sections_referenced'))
                                     WHEN e ? 'sections_referenced' AND jsonb_typeof(e->'sections_referenced') <> 'null'
                                     THEN analytics.raise_bad_key(i, 'sections_referenced', 'an array of strings')::text[]
                                END,
      intermediate_steps     => (e->>'intermediate_steps')::bigint,
      metadata               => CASE WHEN jsonb_typeof(e->'metadata') = 'null' THEN NULL ELSE e->'metadata' END);
    RETURN NEXT v_id;
  END LOOP;
END
$$;

CREATE FUNCTION analytics.start_request(
    user_id          text,
    model            text,
    estimated_tokens bigint        DEFAULT 0,
    request_id       text          DEFAULT NULL,
    provider         text          DEFAULT NULL,
    estimated_cost   analytics.amount DEFAULT NULL,
    org_id           text          DEFAULT NULL,
    conversation_id  text          DEFAULT NULL,
    message_id       text          DEFAULT NULL,
    document_id      text          DEFAULT NULL,
    session_id       text          DEFAULT NULL,
    request_type     text          DEFAULT NULL,
    category         text          DEFAULT NULL,
    query_intent     text          DEFAULT NULL,
    metadata         jsonb         DEFAULT NULL,
    OUT event_id bigint, OUT allowed boolean, OUT status text, OUT limit_name text,
    OUT remaining numeric, OUT resets_at timestamptz)
  RETURNS record
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_start_request';
COMMENT ON FUNCTION analytics.start_request(text, text, bigint, text, text, analytics.amount, text, text, text, text, text, text, text, text, jsonb) IS
  'Admits a request and reserves its estimate against the user''s hard limits (exact under any concurrency), or rejects it; logs it as pending or rejected; idempotent on (user_id, request_id)';

CREATE FUNCTION analytics.complete_request(
    event_id               bigint           DEFAULT NULL,
    status                 text             DEFAULT 'completed',
    input_tokens           bigint           DEFAULT 0,
    cached_input_tokens    bigint           DEFAULT 0,
    cache_write_tokens     bigint           DEFAULT 0,
    output_tokens          bigint           DEFAULT 0,
    reasoning_tokens       bigint           DEFAULT 0,
    cost                   analytics.amount DEFAULT NULL,
    response_time_ms       double precision DEFAULT NULL,
    time_to_first_token_ms double precision DEFAULT NULL,
    error_code             text             DEFAULT NULL,
    error_message          text             DEFAULT NULL,
    cache_hit              boolean          DEFAULT NULL,
    user_id                text             DEFAULT NULL,
    request_id             text             DEFAULT NULL,
    OUT event_id_out bigint, OUT status_out text, OUT cost_out numeric)
  RETURNS record
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_complete_request';
COMMENT ON FUNCTION analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, boolean, text, text) IS
  'Settles a start_request reservation with the actual usage (by event_id, or user_id and request_id); settling again returns the same answer';

/*
 * Identity through drivers and pools.  SET takes no bind parameters and a
 * session-level SET outlives the transaction (a pooled connection would
 * hand it to the next client).  act_as sets the identity and the end-user
 * role for the current transaction only, from values; grant_act_as gives
 * the app backend the membership SET ROLE needs.
 */
CREATE FUNCTION analytics.is_end_user_role(r name) RETURNS boolean
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT EXISTS (SELECT 1 FROM analytics.role_bindings b
                    WHERE b.role_name OPERATOR(pg_catalog.=) r AND b.kind OPERATOR(pg_catalog.=) 'end_user')
       AND NOT EXISTS (SELECT 1 FROM analytics.role_kinds(r) k
                        WHERE k.kind OPERATOR(pg_catalog.=) ANY ('{app_backend,admin}'::text[]));
  END;
COMMENT ON FUNCTION analytics.is_end_user_role(name) IS
  'True when role r is bound by grant_end_user and holds no app backend or admin access (internal to act_as and grant_act_as)';

CREATE FUNCTION analytics.act_as(user_id text, end_user_role name) RETURNS void
  LANGUAGE C VOLATILE CALLED ON NULL INPUT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_act_as';
COMMENT ON FUNCTION analytics.act_as(text, name) IS
  'For the rest of the current transaction, act for end user user_id as end_user_role (SET LOCAL of usage_analytics.user_id and role); app backends only, inside a transaction block';

CREATE FUNCTION analytics.grant_act_as(app_role name, end_user_role name) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF app_role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = app_role) THEN
    RAISE EXCEPTION 'role "%" does not exist', app_role USING ERRCODE = '42704';
  END IF;
  IF end_user_role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = end_user_role) THEN
    RAISE EXCEPTION 'role "%" does not exist', end_user_role USING ERRCODE = '42704';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM analytics.role_bindings b WHERE b.role_name = app_role AND b.kind = 'app_backend') THEN
    RAISE EXCEPTION 'role "%" is not an app backend', app_role USING ERRCODE = '22023',
      HINT = 'Run analytics.grant_app_backend() for it first.';
  END IF;
  IF NOT analytics.is_end_user_role(end_user_role) THEN
    RAISE EXCEPTION 'role "%" is not an end-user role', end_user_role USING ERRCODE = '22023',
      DETAIL = 'It must be bound by analytics.grant_end_user() and hold no app backend or admin access.';
  END IF;
  -- SET ROLE needs membership; 16+ can grant it without inheriting.
  EXECUTE format('GRANT %I TO %I', end_user_role, app_role)
    || CASE WHEN current_setting('server_version_num')::int >= 160000 THEN ' WITH INHERIT FALSE' ELSE '' END;
END
$$;
COMMENT ON FUNCTION analytics.grant_act_as(name, name) IS
  'Lets app backend app_role switch to end_user_role with analytics.act_as() (grants the membership SET ROLE needs); superuser only';

REVOKE ALL ON FUNCTION
  analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb),
  analytics.record_chat_event_keys(),
  analytics.start_request(text, text, bigint, text, text, analytics.amount, text, text, text, text, text, text, text, text, jsonb),
  analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, boolean, text, text),
  analytics.is_end_user_role(name),
  analytics.act_as(text, name),
  analytics.grant_act_as(name, name),
  analytics.amount_in(cstring, oid, integer), analytics.amount_out(analytics.amount),
  analytics.amount_recv(internal, oid, integer), analytics.amount_send(analytics.amount) FROM PUBLIC;

UPDATE analytics.access_list SET object_name = 'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb)'
 WHERE object_name = 'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb)';
UPDATE analytics.access_list SET object_name = 'analytics.start_request(text, text, bigint, text, text, analytics.amount, text, text, text, text, text, text, text, text, jsonb)'
 WHERE object_name = 'analytics.start_request(text, text, bigint, text, text, numeric, text, text, text, text, text, text, text, text, jsonb)';
UPDATE analytics.access_list SET object_name = 'analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, boolean, text, text)'
 WHERE object_name = 'analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, boolean, text, text)';
-- Integers and double precision become amounts through amount_in, which
-- the caller must be allowed to execute (numeric_in is PUBLIC's).
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.amount_in(cstring, oid, integer)', 'EXECUTE'),
  ('app_backend', 'FUNCTION', 'analytics.act_as(text, name)', 'EXECUTE');

-- Roles bound before this update: the functions above are new objects.
SELECT analytics.apply_privileges(b.role_name, b.kind, b.org_id IS NOT NULL, true)
  FROM analytics.role_bindings b
 WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = b.role_name);
