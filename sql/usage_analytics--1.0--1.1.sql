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

-- ==== issue 11: model names as sent, price catalog import, usage mappers ====

/*
 * Model names as providers and gateways send them.  The write path prices
 * a name (subject.c, ua_price_request) by the first of:
 *   1. the price book under that exact name;
 *   2. an alias (analytics.model_aliases, exact name -> provider and model);
 *   3. the name normalised: without a gateway prefix ("openai/gpt-4o",
 *      "bedrock/anthropic.claude-..."; the segment before the model names
 *      the provider tried first), then also without a trailing date
 *      ("-2024-08-06", "-20241022", "@20240620", optionally followed by a
 *      version "-v2:0"), each tried in the price book, then as an alias.
 * The event keeps the name as sent in model and, when another price-book
 * entry priced it, that entry's name in priced_model.
 */
ALTER TABLE analytics.chat_events ADD COLUMN priced_model text;
COMMENT ON COLUMN analytics.chat_events.priced_model IS
  'The price-book model that priced the event when it is not the name as sent (an alias or a normalised name); NULL when model itself is in the price book or the cost was provided';

-- A BEGIN ATOMIC body expanded e.* when it was created: again, with the
-- new column (same signature and body).
CREATE OR REPLACE FUNCTION analytics.unfolded_events(p_user_id text, d_from date, d_to date)
  RETURNS SETOF analytics.chat_events
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT e.* FROM analytics.chat_events e
     WHERE e.user_id = p_user_id AND e.recorded_xid >= analytics.fold_watermark()
       AND e.status IN ('completed', 'failed') AND e.usage_date BETWEEN d_from AND d_to;
  END;

CREATE TABLE analytics.model_aliases (
  alias       text PRIMARY KEY CHECK (alias <> '' AND pg_catalog.octet_length(alias) <= 128),
  provider    text NOT NULL CHECK (provider <> ''),
  model       text NOT NULL CHECK (model <> ''),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE analytics.model_aliases IS
  'Model names as sent (exact) priced as a price-book entry (provider, model): tried after the price book''s own names, before the normalising rules';
SELECT pg_catalog.pg_extension_config_dump('analytics.model_aliases', '');

-- price_request: the same lookup as the write path, and which price-book
-- model priced the request.
DROP FUNCTION analytics.price_request(text, text, timestamptz, bigint, bigint, bigint, bigint);
CREATE FUNCTION analytics.price_request(
    p_model text, p_provider text, p_at timestamptz,
    p_input bigint, p_cached bigint, p_write bigint, p_output bigint,
    OUT provider text, OUT cost_input numeric, OUT cost_cached_input numeric,
    OUT cost_cache_write numeric, OUT cost_output numeric, OUT cache_savings numeric,
    OUT priced_model text)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE C STABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_price_request_srf';
COMMENT ON FUNCTION analytics.price_request(text, text, timestamptz, bigint, bigint, bigint, bigint) IS
  'Per-bucket cost of a request at the price in force at a time, and the price-book model that priced it (aliases and normalised names as record_chat_event); at most two rows (two providers: ambiguous)';

-- Corrections price again as the write path does, and keep priced_model.
CREATE OR REPLACE FUNCTION analytics.apply_correction(p_event bigint, p_kind text, p_reason text,
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
    n.cost_output := NULL; n.cache_savings := NULL; n.priced_model := NULL;
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
    n.priced_model := NULLIF(p.priced_model, e.model);
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
         cost_cache_write = n.cost_cache_write, cost_output = n.cost_output, cache_savings = n.cache_savings,
         priced_model = n.priced_model
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

/*
 * Importing a public price catalog in LiteLLM's
 * model_prices_and_context_window.json format: keys are model names as
 * LiteLLM's callers send them, each entry has litellm_provider, mode and
 * per-token USD costs.  Chat, completion and responses entries with an
 * input and an output cost become price-book rows (provider =
 * litellm_provider, model = the key as is) in force from effective_from,
 * per million tokens exactly (numeric); cache reads and writes without a
 * cost of their own are priced as input.
 */

-- One cost field of an entry, per million tokens; NULL if absent.
CREATE FUNCTION analytics.litellm_rate(model text, entry jsonb, field text) RETURNS numeric
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v    jsonb := entry -> field;
  rate numeric;
BEGIN
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
    RETURN NULL;
  ELSIF jsonb_typeof(v) = 'number' THEN
    rate := v::numeric;
  ELSIF jsonb_typeof(v) = 'string' THEN
    BEGIN
      rate := (v #>> '{}')::numeric;
    EXCEPTION WHEN invalid_text_representation THEN
      RAISE EXCEPTION 'entry "%": % is not a number: "%"', model, field, v #>> '{}'
        USING ERRCODE = '22P02';
    END;
  ELSE
    RAISE EXCEPTION 'entry "%": % must be a number, not %', model, field, jsonb_typeof(v)
      USING ERRCODE = '22023';
  END IF;
  IF rate = 'NaN' OR rate IN ('Infinity', '-Infinity') OR rate < 0 OR rate >= 1 THEN
    RAISE EXCEPTION 'entry "%": % must be at least 0 and below 1 USD per token, not %', model, field, v #>> '{}'
      USING ERRCODE = '22023';
  END IF;
  RETURN trim_scale(rate * 1000000);
END
$$;
COMMENT ON FUNCTION analytics.litellm_rate(text, jsonb, text) IS
  'A per-token cost field of a LiteLLM catalog entry in USD per million tokens, validated (internal to import_litellm_prices)';

CREATE FUNCTION analytics.import_litellm_prices(catalog jsonb,
    effective_from timestamptz DEFAULT pg_catalog.now(), providers text[] DEFAULT NULL)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  k      text;
  e      jsonb;
  prov   text;
  r      numeric[];
  cur    analytics.model_prices;
  n      integer := 0;
BEGIN
  IF catalog IS NULL OR effective_from IS NULL THEN
    RAISE EXCEPTION 'catalog and effective_from must not be null' USING ERRCODE = '23502';
  END IF;
  IF jsonb_typeof(catalog) <> 'object' THEN
    RAISE EXCEPTION 'catalog must be a JSON object keyed by model name, not %', jsonb_typeof(catalog)
      USING ERRCODE = '22023';
  END IF;
  IF NOT isfinite(effective_from) THEN
    RAISE EXCEPTION 'effective_from must be a finite timestamp' USING ERRCODE = '22008';
  END IF;
  FOR k, e IN SELECT c.key, c.value FROM jsonb_each(catalog) c ORDER BY c.key LOOP
    CONTINUE WHEN k = 'sample_spec';
    IF btrim(k) = '' THEN
      RAISE EXCEPTION 'catalog has an empty model name' USING ERRCODE = '22023';
    END IF;
    IF octet_length(k) > 128 THEN
      RAISE EXCEPTION 'model name "%" is too long', k USING ERRCODE = '22001',
        DETAIL = 'At most 128 bytes.';
    END IF;
    IF jsonb_typeof(e) <> 'object' THEN
      RAISE EXCEPTION 'entry "%" must be a JSON object, not %', k, jsonb_typeof(e) USING ERRCODE = '22023';
    END IF;
    IF e ? 'mode' AND jsonb_typeof(e -> 'mode') <> 'string' THEN
      RAISE EXCEPTION 'entry "%": mode must be a string', k USING ERRCODE = '22023';
    END IF;
    -- Chat models only (embeddings, images, audio, ... are priced otherwise).
    CONTINUE WHEN e ->> 'mode' IS NULL OR e ->> 'mode' NOT IN ('chat', 'completion', 'responses');
    IF jsonb_typeof(e -> 'litellm_provider') IS DISTINCT FROM 'string' OR btrim(e ->> 'litellm_provider') = '' THEN
      RAISE EXCEPTION 'entry "%": litellm_provider must be a non-empty string', k USING ERRCODE = '22023';
    END IF;
    prov := e ->> 'litellm_provider';
    CONTINUE WHEN providers IS NOT NULL AND prov <> ALL (providers);
    r := ARRAY[analytics.litellm_rate(k, e, 'input_cost_per_token'),
               analytics.litellm_rate(k, e, 'cache_read_input_token_cost'),
               analytics.litellm_rate(k, e, 'cache_creation_input_token_cost'),
               analytics.litellm_rate(k, e, 'output_cost_per_token')];
    -- Without an input and an output price there is nothing to price with.
    CONTINUE WHEN r[1] IS NULL OR r[4] IS NULL;
    r[2] := COALESCE(r[2], r[1]);
    r[3] := COALESCE(r[3], r[1]);
    -- The same price already in force then: nothing to do (idempotent).
    SELECT p.* INTO cur FROM analytics.model_prices p
     WHERE p.provider = prov AND p.model = k AND p.effective_from <= import_litellm_prices.effective_from
     ORDER BY p.effective_from DESC LIMIT 1;
    CONTINUE WHEN FOUND AND (cur.input_per_mtok, cur.cached_input_per_mtok, cur.cache_write_per_mtok,
                             cur.output_per_mtok) = (r[1], r[2], r[3], r[4]);
    INSERT INTO analytics.model_prices AS p (provider, model, effective_from, input_per_mtok,
        cached_input_per_mtok, cache_write_per_mtok, output_per_mtok)
    VALUES (prov, k, import_litellm_prices.effective_from, r[1], r[2], r[3], r[4])
    ON CONFLICT ON CONSTRAINT model_prices_pkey DO UPDATE SET
      input_per_mtok = EXCLUDED.input_per_mtok, cached_input_per_mtok = EXCLUDED.cached_input_per_mtok,
      cache_write_per_mtok = EXCLUDED.cache_write_per_mtok, output_per_mtok = EXCLUDED.output_per_mtok,
      builtin = false;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.import_litellm_prices(jsonb, timestamptz, text[]) IS
  'Imports the chat prices of a LiteLLM model_prices_and_context_window.json catalog into model_prices from effective_from (optionally only some providers); returns how many prices it added or changed (0 when run again)';

/*
 * Provider usage objects onto the disjoint ledger (SPEC §2): input excludes
 * cached reads and cache writes; reasoning is part of output.  Each field
 * is a non-negative integer or absent (0); a given total must add up.
 */

-- One token count of a usage object: 0 if absent, else a non-negative integer.
CREATE FUNCTION analytics.usage_tokens(usage jsonb, path text[]) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  name text := array_to_string(path, '.');
  v    jsonb;
  n    numeric;
  i    integer;
BEGIN
  FOR i IN 1 .. cardinality(path) - 1 LOOP
    v := usage #> path[1:i];
    IF v IS NOT NULL AND jsonb_typeof(v) NOT IN ('object', 'null') THEN
      RAISE EXCEPTION '% must be a JSON object, not %', array_to_string(path[1:i], '.'), jsonb_typeof(v)
        USING ERRCODE = '22023';
    END IF;
  END LOOP;
  v := usage #> path;
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
    RETURN 0;
  END IF;
  IF jsonb_typeof(v) <> 'number' THEN
    RAISE EXCEPTION '% must be a number, not %', name, jsonb_typeof(v) USING ERRCODE = '22023';
  END IF;
  n := v::numeric;
  IF n <> trunc(n) THEN
    RAISE EXCEPTION '% must be an integer, not %', name, n USING ERRCODE = '22023';
  END IF;
  IF n < 0 THEN
    RAISE EXCEPTION '% must not be negative, not %', name, n USING ERRCODE = '22023';
  END IF;
  IF n > 9223372036854775807 THEN
    RAISE EXCEPTION '% is out of range: %', name, n USING ERRCODE = '22023';
  END IF;
  RETURN n::bigint;
END
$$;
COMMENT ON FUNCTION analytics.usage_tokens(jsonb, text[]) IS
  'A token count of a provider usage object, validated: 0 when absent, 22023 naming the field when not a non-negative integer (internal to the usage mappers)';

-- The usage object itself: given, or under its key in a whole response.
CREATE FUNCTION analytics.usage_object(usage jsonb, key text) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF jsonb_typeof(usage) = 'object' AND jsonb_typeof(usage -> key) = 'object' THEN
    usage := usage -> key;
  END IF;
  IF jsonb_typeof(usage) <> 'object' THEN
    RAISE EXCEPTION '% must be a JSON object, not %', key, jsonb_typeof(usage) USING ERRCODE = '22023';
  END IF;
  RETURN usage;
END
$$;
COMMENT ON FUNCTION analytics.usage_object(jsonb, text) IS
  'The usage object of a provider response (the object itself, or the response holding it under key), 22023 if not an object (internal to the usage mappers)';

CREATE FUNCTION analytics.gemini_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  u        jsonb := analytics.usage_object(usage, 'usageMetadata');
  prompt   bigint := analytics.usage_tokens(u, '{promptTokenCount}');
  cached   bigint := analytics.usage_tokens(u, '{cachedContentTokenCount}');
  cand     bigint := analytics.usage_tokens(u, '{candidatesTokenCount}');
  thoughts bigint := analytics.usage_tokens(u, '{thoughtsTokenCount}');
  tool     bigint := analytics.usage_tokens(u, '{toolUsePromptTokenCount}');
  total    bigint := analytics.usage_tokens(u, '{totalTokenCount}');
BEGIN
  -- promptTokenCount includes the cached content; thoughts are output
  -- billed beside the candidates; tool-use prompts are input.
  IF cached > prompt THEN
    RAISE EXCEPTION 'cachedContentTokenCount (%) exceeds promptTokenCount (%)', cached, prompt
      USING ERRCODE = '22023', DETAIL = 'promptTokenCount includes the cached tokens.';
  END IF;
  IF u ? 'totalTokenCount' AND total <> prompt + tool + cand + thoughts THEN
    RAISE EXCEPTION 'totalTokenCount (%) is not promptTokenCount + toolUsePromptTokenCount + candidatesTokenCount + thoughtsTokenCount (%)',
      total, prompt + tool + cand + thoughts USING ERRCODE = '22023';
  END IF;
  input_tokens := prompt - cached + tool;
  cached_input_tokens := cached;
  cache_write_tokens := 0;
  output_tokens := cand + thoughts;
  reasoning_tokens := thoughts;
END
$$;
COMMENT ON FUNCTION analytics.gemini_usage(jsonb) IS
  'Maps a Gemini usageMetadata object (or a response holding it) onto the token ledger: promptTokenCount includes cachedContentTokenCount; thoughtsTokenCount is output and reasoning';

CREATE FUNCTION analytics.bedrock_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  u      jsonb := analytics.usage_object(usage, 'usage');
  inp    bigint := analytics.usage_tokens(u, '{inputTokens}');
  outp   bigint := analytics.usage_tokens(u, '{outputTokens}');
  cread  bigint := analytics.usage_tokens(u, '{cacheReadInputTokens}');
  cwrite bigint := analytics.usage_tokens(u, '{cacheWriteInputTokens}');
  total  bigint := analytics.usage_tokens(u, '{totalTokens}');
BEGIN
  -- inputTokens excludes cache reads and writes; totalTokens counts all four.
  IF u ? 'totalTokens' AND total <> inp + outp + cread + cwrite THEN
    RAISE EXCEPTION 'totalTokens (%) is not inputTokens + outputTokens + cacheReadInputTokens + cacheWriteInputTokens (%)',
      total, inp + outp + cread + cwrite USING ERRCODE = '22023';
  END IF;
  input_tokens := inp;
  cached_input_tokens := cread;
  cache_write_tokens := cwrite;
  output_tokens := outp;
  reasoning_tokens := 0;
END
$$;
COMMENT ON FUNCTION analytics.bedrock_usage(jsonb) IS
  'Maps a Bedrock Converse usage object (or a response holding it) onto the token ledger: inputTokens exclude cacheReadInputTokens and cacheWriteInputTokens';

CREATE FUNCTION analytics.openai_responses_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  u         jsonb := analytics.usage_object(usage, 'usage');
  inp       bigint := analytics.usage_tokens(u, '{input_tokens}');
  cached    bigint := analytics.usage_tokens(u, '{input_tokens_details,cached_tokens}');
  outp      bigint := analytics.usage_tokens(u, '{output_tokens}');
  reasoning bigint := analytics.usage_tokens(u, '{output_tokens_details,reasoning_tokens}');
  total     bigint := analytics.usage_tokens(u, '{total_tokens}');
BEGIN
  -- input_tokens includes the cached ones; output_tokens the reasoning.
  IF cached > inp THEN
    RAISE EXCEPTION 'input_tokens_details.cached_tokens (%) exceeds input_tokens (%)', cached, inp
      USING ERRCODE = '22023', DETAIL = 'input_tokens includes the cached tokens.';
  END IF;
  IF reasoning > outp THEN
    RAISE EXCEPTION 'output_tokens_details.reasoning_tokens (%) exceeds output_tokens (%)', reasoning, outp
      USING ERRCODE = '22023', DETAIL = 'output_tokens includes the reasoning tokens.';
  END IF;
  IF u ? 'total_tokens' AND total <> inp + outp THEN
    RAISE EXCEPTION 'total_tokens (%) is not input_tokens + output_tokens (%)', total, inp + outp
      USING ERRCODE = '22023';
  END IF;
  input_tokens := inp - cached;
  cached_input_tokens := cached;
  cache_write_tokens := 0;
  output_tokens := outp;
  reasoning_tokens := reasoning;
END
$$;
COMMENT ON FUNCTION analytics.openai_responses_usage(jsonb) IS
  'Maps an OpenAI Responses API usage object (or a response holding it) onto the token ledger, validated: input_tokens include cached_tokens, output_tokens include reasoning_tokens';

CREATE FUNCTION analytics.otel_genai_usage(attributes jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  a         jsonb := analytics.usage_object(attributes, 'attributes');
  inp       bigint := analytics.usage_tokens(a, '{gen_ai.usage.input_tokens}');
  outp      bigint := analytics.usage_tokens(a, '{gen_ai.usage.output_tokens}');
  cread     bigint := analytics.usage_tokens(a, '{gen_ai.usage.cache_read.input_tokens}');
  cwrite    bigint := analytics.usage_tokens(a, '{gen_ai.usage.cache_creation.input_tokens}');
  reasoning bigint := analytics.usage_tokens(a, '{gen_ai.usage.reasoning.output_tokens}');
BEGIN
  -- The conventions count cache reads and writes in input_tokens, and
  -- reasoning in output_tokens.
  IF cread + cwrite > inp THEN
    RAISE EXCEPTION 'gen_ai.usage.cache_read.input_tokens + gen_ai.usage.cache_creation.input_tokens (%) exceed gen_ai.usage.input_tokens (%)',
      cread + cwrite, inp USING ERRCODE = '22023',
      DETAIL = 'gen_ai.usage.input_tokens includes the cached tokens.';
  END IF;
  IF reasoning > outp THEN
    RAISE EXCEPTION 'gen_ai.usage.reasoning.output_tokens (%) exceeds gen_ai.usage.output_tokens (%)', reasoning, outp
      USING ERRCODE = '22023', DETAIL = 'gen_ai.usage.output_tokens includes the reasoning tokens.';
  END IF;
  input_tokens := inp - cread - cwrite;
  cached_input_tokens := cread;
  cache_write_tokens := cwrite;
  output_tokens := outp;
  reasoning_tokens := reasoning;
END
$$;
COMMENT ON FUNCTION analytics.otel_genai_usage(jsonb) IS
  'Maps OpenTelemetry GenAI span attributes (gen_ai.usage.input_tokens, output_tokens, cache_read.input_tokens, cache_creation.input_tokens, reasoning.output_tokens; flat keys) onto the token ledger';

REVOKE ALL ON FUNCTION analytics.price_request(text, text, timestamptz, bigint, bigint, bigint, bigint),
                       analytics.litellm_rate(text, jsonb, text),
                       analytics.import_litellm_prices(jsonb, timestamptz, text[]),
                       analytics.usage_tokens(jsonb, text[]),
                       analytics.usage_object(jsonb, text),
                       analytics.gemini_usage(jsonb),
                       analytics.bedrock_usage(jsonb),
                       analytics.openai_responses_usage(jsonb),
                       analytics.otel_genai_usage(jsonb) FROM PUBLIC;
REVOKE ALL ON TABLE analytics.model_aliases FROM PUBLIC;

-- Everyone reads the aliases, as the price book; admins edit both and
-- import catalogs (with their own rights on model_prices).  The mappers
-- call their internal helpers, which every kind may execute.
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.model_aliases', 'SELECT'),
  ('*', 'FUNCTION', 'analytics.usage_tokens(jsonb, text[])', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.usage_object(jsonb, text)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.gemini_usage(jsonb)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.bedrock_usage(jsonb)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.openai_responses_usage(jsonb)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.otel_genai_usage(jsonb)', 'EXECUTE'),
  ('admin', 'TABLE', 'analytics.model_aliases', 'INSERT, UPDATE, DELETE'),
  ('admin', 'FUNCTION', 'analytics.litellm_rate(text, jsonb, text)', 'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.import_litellm_prices(jsonb, timestamptz, text[])', 'EXECUTE');
SELECT analytics.apply_privileges(b.role_name, b.kind, b.org_id IS NOT NULL, true)
  FROM analytics.role_bindings b
 WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = b.role_name);
