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
-- The one change of folded rollups for a change of one folded event
-- (corrections, feedback): every rollup that holds the figure moves by its
-- delta; a rollup none of whose figures change is not written.  The fold
-- and the verifier compute rollups from the log, on purpose separately.
-- Internal.
CREATE FUNCTION analytics.rollups_add(user_id text, usage_date date, occurred_at timestamptz,
    provider text, model text, document_id text,
    input_tokens bigint DEFAULT 0, cached_input_tokens bigint DEFAULT 0,
    cache_write_tokens bigint DEFAULT 0, output_tokens bigint DEFAULT 0,
    reasoning_tokens bigint DEFAULT 0, cost numeric DEFAULT 0, cache_savings numeric DEFAULT 0,
    feedback_sum bigint DEFAULT 0, feedback_count bigint DEFAULT 0)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  utc_day date := (rollups_add.occurred_at AT TIME ZONE 'UTC')::date;
  prov    text := COALESCE(rollups_add.provider, '');
  total   bigint := rollups_add.input_tokens + rollups_add.cached_input_tokens
                    + rollups_add.cache_write_tokens + rollups_add.output_tokens;
  tokens  boolean := total <> 0 OR rollups_add.reasoning_tokens <> 0 OR rollups_add.cost <> 0
                     OR rollups_add.cache_savings <> 0 OR rollups_add.cached_input_tokens <> 0
                     OR rollups_add.input_tokens <> 0 OR rollups_add.output_tokens <> 0
                     OR rollups_add.cache_write_tokens <> 0;
  rating  boolean := rollups_add.feedback_sum <> 0 OR rollups_add.feedback_count <> 0;
BEGIN
  IF rating THEN
    UPDATE analytics.rollup_user_daily r
       SET feedback_sum = r.feedback_sum + rollups_add.feedback_sum,
           feedback_count = r.feedback_count + rollups_add.feedback_count
     WHERE r.user_id = rollups_add.user_id AND r.usage_date = rollups_add.usage_date;
    UPDATE analytics.rollup_user_monthly r
       SET feedback_sum = r.feedback_sum + rollups_add.feedback_sum,
           feedback_count = r.feedback_count + rollups_add.feedback_count
     WHERE r.user_id = rollups_add.user_id
       AND r.month = date_trunc('month', rollups_add.usage_date::timestamp)::date;
  END IF;
  IF tokens THEN
    UPDATE analytics.rollup_user_models r
       SET input_tokens = r.input_tokens + rollups_add.input_tokens,
           cached_input_tokens = r.cached_input_tokens + rollups_add.cached_input_tokens,
           cache_write_tokens = r.cache_write_tokens + rollups_add.cache_write_tokens,
           output_tokens = r.output_tokens + rollups_add.output_tokens,
           reasoning_tokens = r.reasoning_tokens + rollups_add.reasoning_tokens,
           cost = r.cost + rollups_add.cost
     WHERE r.user_id = rollups_add.user_id AND r.usage_date = rollups_add.usage_date
       AND r.provider = prov AND r.model = rollups_add.model;
  END IF;
  IF tokens OR rating THEN
    UPDATE analytics.rollup_system_models r
       SET tokens_total = r.tokens_total + total,
           cached_input_tokens = r.cached_input_tokens + rollups_add.cached_input_tokens,
           cost = r.cost + rollups_add.cost, cache_savings = r.cache_savings + rollups_add.cache_savings,
           feedback_sum = r.feedback_sum + rollups_add.feedback_sum,
           feedback_count = r.feedback_count + rollups_add.feedback_count
     WHERE r.usage_date = utc_day AND r.provider = prov AND r.model = rollups_add.model;
    IF rollups_add.document_id IS NOT NULL THEN
      UPDATE analytics.rollup_documents r
         SET tokens_total = r.tokens_total + total, cost = r.cost + rollups_add.cost,
             feedback_sum = r.feedback_sum + rollups_add.feedback_sum,
             feedback_count = r.feedback_count + rollups_add.feedback_count
       WHERE r.document_id = rollups_add.document_id AND r.usage_date = utc_day;
    END IF;
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.rollups_add(text, date, timestamptz, text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, numeric, bigint, bigint) IS
  'Moves the folded rollups of one event by a delta of its figures (corrections, feedback; internal)';

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
  PERFORM analytics.counters_add(e.user_id, e.usage_date, input_tokens => d.input, cached_input_tokens => d.cached,
                                 cache_write_tokens => d.write, output_tokens => d.output,
                                 reasoning_tokens => d.reasoning, cost => d.cost, cache_savings => d.savings);

  -- Folded already: move the rollups that hold tokens and cost.  (Not yet
  -- folded: the fold reads the corrected row.)
  IF e.recorded_xid < w THEN
    PERFORM analytics.rollups_add(e.user_id, e.usage_date, e.occurred_at, e.provider, e.model, e.document_id,
                                  input_tokens => d.input, cached_input_tokens => d.cached,
                                  cache_write_tokens => d.write, output_tokens => d.output,
                                  reasoning_tokens => d.reasoning, cost => d.cost, cache_savings => d.savings);
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
  days   integer := analytics.setting('payload_retention_days')::integer;
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
  months integer := analytics.setting('retention_months')::integer;
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

-- Quota snapshot in C (subject.c): index scans of plans and counters,
-- shared by the write path, check_quota, admission and the threshold
-- notifications.  Same signature and results as the SQL version of 1.0;
-- still internal (EXECUTE for the owner only).  price_request, also C now,
-- is in the section on model names below.
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
                       analytics.rollups_add(text, date, timestamptz, text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, numeric, bigint, bigint),
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

/*
 * record_feedback's rollup change goes through rollups_add, as
 * corrections do (one definition of a folded event's delta).
 */
CREATE OR REPLACE FUNCTION analytics.apply_feedback(p_event bigint, p_rating integer, p_text text,
    p_identity text, p_sees_all boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  w bigint;
  e record;
BEGIN
  -- Hold the fold back while we decide whether the event is folded.
  SELECT f.watermark INTO w FROM analytics.fold_state f FOR SHARE;
  SELECT c.user_id, c.occurred_at, c.usage_date, c.status, c.recorded_xid, c.feedback_rating,
         c.document_id, c.provider, c.model
    INTO e
    FROM analytics.chat_events c WHERE c.id = p_event
     FOR UPDATE;
  IF NOT FOUND OR (NOT p_sees_all AND e.user_id IS DISTINCT FROM p_identity) THEN
    RAISE EXCEPTION 'event % does not exist', p_event
      USING ERRCODE = '42704', HINT = 'End users may rate only their own events.';
  END IF;
  IF e.status NOT IN ('completed', 'failed') THEN
    RAISE EXCEPTION 'event % is % and cannot be rated yet', p_event, e.status USING ERRCODE = '55000';
  END IF;
  UPDATE analytics.chat_events c
     SET feedback_rating = p_rating, feedback_text = p_text, feedback_at = now()
   WHERE c.user_id = e.user_id AND c.occurred_at = e.occurred_at AND c.id = p_event;
  IF e.recorded_xid < w THEN
    -- Already folded: move the rollups by the difference.
    PERFORM analytics.rollups_add(e.user_id, e.usage_date, e.occurred_at, e.provider, e.model, e.document_id,
                                  feedback_sum => p_rating - COALESCE(e.feedback_rating, 0),
                                  feedback_count => CASE WHEN e.feedback_rating IS NULL THEN 1 ELSE 0 END);
  END IF;
END
$$;

-- ==== issue 11: settings in any session, access, uninstall, read path ====

/*
 * Settings read from SQL.  current_setting('usage_analytics.x') fails as
 * the first call of a session, before anything loaded the C library that
 * defines the settings; pg_cron runs every job in a new session.  This C
 * function loads it by being called.
 */
CREATE FUNCTION analytics.setting(name text) RETURNS text
  LANGUAGE C STABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_setting';
COMMENT ON FUNCTION analytics.setting(text) IS
  'The value of setting usage_analytics.<name> as SHOW prints it; works as the first call of a session';

CREATE OR REPLACE FUNCTION analytics.subject_at(p_user_id text, p_at timestamptz,
    OUT plan_id text, OUT time_zone text)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE sql STABLE PARALLEL SAFE
  BEGIN ATOMIC
    SELECT COALESCE(s.plan_id, analytics.setting('default_plan')),
           COALESCE(s.time_zone, 'UTC')
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
        SELECT s.plan_id, s.time_zone
          FROM analytics.subscriptions s
         WHERE s.user_id = p_user_id
           AND s.starts_at <= p_at
           AND (s.ends_at IS NULL OR s.ends_at > p_at)
         ORDER BY s.starts_at DESC
         LIMIT 1) s ON true;
  END;

-- The counter change for SQL callers (counters.c, the write path's own
-- statement): the upsert is written once.  Internal.
CREATE FUNCTION analytics.counters_add(user_id text, usage_date date,
    requests bigint DEFAULT 0, failed bigint DEFAULT 0, input_tokens bigint DEFAULT 0,
    cached_input_tokens bigint DEFAULT 0, cache_write_tokens bigint DEFAULT 0,
    output_tokens bigint DEFAULT 0, reasoning_tokens bigint DEFAULT 0, cache_hits bigint DEFAULT 0,
    cost numeric DEFAULT 0, cache_savings numeric DEFAULT 0, response_time_sum bigint DEFAULT 0,
    response_time_count bigint DEFAULT 0, pending_requests bigint DEFAULT 0,
    pending_tokens bigint DEFAULT 0, pending_cost numeric DEFAULT 0, rejected bigint DEFAULT 0)
  RETURNS void
  LANGUAGE C VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_counters_add_sql';
COMMENT ON FUNCTION analytics.counters_add(text, date, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, numeric, numeric, bigint, bigint, bigint, bigint, numeric, bigint) IS
  'Adds a delta to a user''s day counters in this backend''s slot: the one counter change, shared with the write path (internal)';
REVOKE ALL ON FUNCTION analytics.counters_add(text, date, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, numeric, numeric, bigint, bigint, bigint, bigint, numeric, bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION analytics.expire_reservations() RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  n bigint;
BEGIN
  -- Pending requests older than usage_analytics.reservation_ttl: mark them
  -- expired and release their reservations.  A concurrent complete_request
  -- holds the row: this statement then sees it settled and skips it.
  WITH gone AS (
    UPDATE analytics.chat_events e SET status = 'expired', settled_at = now()
     WHERE e.status = 'pending'
       AND e.occurred_at < clock_timestamp() - analytics.setting('reservation_ttl')::interval
    RETURNING e.user_id, e.usage_date, COALESCE(e.reserved_tokens, 0) AS t, COALESCE(e.reserved_cost, 0) AS c),
  released AS (
    SELECT g.user_id, g.usage_date, count(*) AS k, sum(g.t) AS t, sum(g.c) AS c
      FROM gone g GROUP BY g.user_id, g.usage_date)
  SELECT COALESCE(sum(r.k), 0) INTO n
    FROM released r,
         LATERAL analytics.counters_add(r.user_id, r.usage_date, pending_requests => -r.k,
                                        pending_tokens => -r.t, pending_cost => -r.c) AS x;
  RETURN n;
END
$$;

/*
 * verify_rollups: the counters' pending reservations and rejections are
 * compared with the log too, and a user-day whose every figure is zero
 * (only expired requests, say) is the same as no row.
 */
CREATE OR REPLACE FUNCTION analytics.rollup_comparisons(d_from date, d_to date, w bigint)
  RETURNS TABLE (rollup text, stored_sql text, recomputed_sql text)
  LANGUAGE sql IMMUTABLE
  BEGIN ATOMIC
    SELECT x.rollup,
           format(x.stored, quote_nullable(d_from), quote_nullable(d_to)),
           format(x.recomputed, quote_nullable(d_from), quote_nullable(d_to), w)
      FROM (VALUES
        ('usage_counters',
         $$SELECT row(user_id, usage_date)::text, row(sum(requests), sum(failed), sum(input_tokens),
                  sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens),
                  sum(cache_hits), trim_scale(sum(cost)), trim_scale(sum(cache_savings)), sum(response_time_sum), sum(response_time_count),
                  sum(pending_requests), sum(pending_tokens), trim_scale(sum(pending_cost)), sum(rejected))::text
             FROM analytics.usage_counters WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, usage_date
           HAVING sum(requests) <> 0 OR sum(pending_requests) <> 0 OR sum(rejected) <> 0 OR sum(failed) <> 0
               OR sum(input_tokens) <> 0 OR sum(cached_input_tokens) <> 0 OR sum(cache_write_tokens) <> 0
               OR sum(output_tokens) <> 0 OR sum(reasoning_tokens) <> 0 OR sum(cache_hits) <> 0 OR sum(cost) <> 0
               OR sum(cache_savings) <> 0 OR sum(response_time_sum) <> 0 OR sum(response_time_count) <> 0
               OR sum(pending_tokens) <> 0 OR sum(pending_cost) <> 0$$,
         $$SELECT row(user_id, usage_date)::text, row(count(*) FILTER (WHERE f), count(*) FILTER (WHERE status = 'failed'),
                  COALESCE(sum(input_tokens) FILTER (WHERE f), 0), COALESCE(sum(cached_input_tokens) FILTER (WHERE f), 0),
                  COALESCE(sum(cache_write_tokens) FILTER (WHERE f), 0), COALESCE(sum(output_tokens) FILTER (WHERE f), 0),
                  COALESCE(sum(reasoning_tokens) FILTER (WHERE f), 0), count(*) FILTER (WHERE f AND cache_hit),
                  trim_scale(COALESCE(sum(cost) FILTER (WHERE f), 0)), trim_scale(COALESCE(sum(cache_savings) FILTER (WHERE f), 0)),
                  COALESCE(sum(response_time_ms) FILTER (WHERE f), 0), count(response_time_ms) FILTER (WHERE f),
                  count(*) FILTER (WHERE status = 'pending'), COALESCE(sum(reserved_tokens) FILTER (WHERE status = 'pending'), 0),
                  trim_scale(COALESCE(sum(reserved_cost) FILTER (WHERE status = 'pending'), 0)),
                  count(*) FILTER (WHERE status = 'rejected'))::text
             FROM (SELECT e.*, e.status IN ('completed', 'failed') AS f FROM analytics.chat_events e
                    WHERE e.status IN ('completed', 'failed', 'pending', 'rejected')
                      AND e.usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)) e
            GROUP BY user_id, usage_date$$),
        ('rollup_user_daily',
         $$SELECT row(user_id, usage_date)::text, row(latency, ttft, feedback_sum, feedback_count)::text
             FROM analytics.rollup_user_daily WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(user_id, usage_date)::text,
                  row(analytics.latency_sketch_agg(response_time_ms), analytics.latency_sketch_agg(time_to_first_token_ms),
                      COALESCE(sum(feedback_rating), 0), count(feedback_rating))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, usage_date$$),
        ('rollup_user_monthly',
         $$SELECT row(user_id, month)::text, row(latency, ttft, feedback_sum, feedback_count)::text
             FROM analytics.rollup_user_monthly WHERE month BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(user_id, date_trunc('month', usage_date::timestamp)::date)::text,
                  row(analytics.latency_sketch_agg(response_time_ms), analytics.latency_sketch_agg(time_to_first_token_ms),
                      COALESCE(sum(feedback_rating), 0), count(feedback_rating))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND date_trunc('month', usage_date::timestamp)::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, date_trunc('month', usage_date::timestamp)::date$$),
        ('rollup_user_models',
         $$SELECT row(user_id, usage_date, provider, model)::text,
                  row(requests, failed, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
                      reasoning_tokens, trim_scale(cost), latency_sum, latency_count, last_used)::text
             FROM analytics.rollup_user_models WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(user_id, usage_date, COALESCE(provider, ''), model)::text,
                  row(count(*), count(*) FILTER (WHERE status = 'failed'), sum(input_tokens), sum(cached_input_tokens),
                      sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens), trim_scale(sum(cost)),
                      COALESCE(sum(response_time_ms), 0), count(response_time_ms), max(occurred_at))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, usage_date, COALESCE(provider, ''), model$$),
        ('rollup_user_categories',
         $$SELECT row(user_id, usage_date, category)::text, requests::text
             FROM analytics.rollup_user_categories WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(user_id, usage_date, category)::text, count(*)::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND category IS NOT NULL
              AND usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, usage_date, category$$),
        ('rollup_documents',
         $$SELECT row(document_id, usage_date)::text,
                  row(requests, failed, tokens_total, trim_scale(cost), cache_hits, latency, feedback_sum, feedback_count)::text
             FROM analytics.rollup_documents WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(document_id, (occurred_at AT TIME ZONE 'UTC')::date)::text,
                  row(count(*), count(*) FILTER (WHERE status = 'failed'),
                      sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens), trim_scale(sum(cost)),
                      count(*) FILTER (WHERE cache_hit), analytics.latency_sketch_agg(response_time_ms),
                      COALESCE(sum(feedback_rating), 0), count(feedback_rating))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND document_id IS NOT NULL
              AND (occurred_at AT TIME ZONE 'UTC')::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY document_id, (occurred_at AT TIME ZONE 'UTC')::date$$),
        ('rollup_system_models',
         $$SELECT row(usage_date, provider, model)::text,
                  row(requests, failed, tokens_total, cached_input_tokens, cache_hits, trim_scale(cost), trim_scale(cache_savings), latency,
                      feedback_sum, feedback_count)::text
             FROM analytics.rollup_system_models WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row((occurred_at AT TIME ZONE 'UTC')::date, COALESCE(provider, ''), model)::text,
                  row(count(*), count(*) FILTER (WHERE status = 'failed'),
                      sum(input_tokens + cached_input_tokens + cache_write_tokens + output_tokens),
                      sum(cached_input_tokens), count(*) FILTER (WHERE cache_hit), trim_scale(sum(cost)),
                      trim_scale(COALESCE(sum(cache_savings), 0)), analytics.latency_sketch_agg(response_time_ms),
                      COALESCE(sum(feedback_rating), 0), count(feedback_rating))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed') AND recorded_xid < %3$s
              AND (occurred_at AT TIME ZONE 'UTC')::date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY (occurred_at AT TIME ZONE 'UTC')::date, COALESCE(provider, ''), model$$),
        ('rollup_distinct',
         $$SELECT row(scope, scope_id, usage_date)::text, items::text
             FROM analytics.rollup_distinct WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)$$,
         $$SELECT row(v.scope, v.scope_id, v.d)::text, array_agg(DISTINCT v.item COLLATE "C" ORDER BY v.item COLLATE "C")::text
             FROM analytics.chat_events e,
                  LATERAL (VALUES
                    ('user_conversation', e.user_id, e.usage_date, e.conversation_id),
                    ('user_document', e.user_id, e.usage_date, e.document_id),
                    ('document_user', e.document_id, (e.occurred_at AT TIME ZONE 'UTC')::date, e.user_id),
                    ('document_conversation', e.document_id, (e.occurred_at AT TIME ZONE 'UTC')::date, e.conversation_id),
                    ('system_user', '', (e.occurred_at AT TIME ZONE 'UTC')::date, e.user_id),
                    ('system_conversation', '', (e.occurred_at AT TIME ZONE 'UTC')::date, e.conversation_id),
                    ('system_document', '', (e.occurred_at AT TIME ZONE 'UTC')::date, e.document_id)) AS v(scope, scope_id, d, item)
            WHERE e.status IN ('completed', 'failed') AND e.recorded_xid < %3$s
              AND v.scope_id IS NOT NULL AND v.item IS NOT NULL
              AND v.d BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY v.scope, v.scope_id, v.d$$)
      ) AS x(rollup, stored, recomputed);
  END;

/*
 * Who sees what.  sees_all_rows() and admin_org_ids() answer for the
 * calling role only (access.c); role_has_kind(r, ...) and role_admin_orgs(r)
 * answered any caller about any role and are gone.
 */
CREATE OR REPLACE FUNCTION analytics.sees_all_rows() RETURNS boolean
  LANGUAGE C STABLE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_sees_all_rows';
CREATE OR REPLACE FUNCTION analytics.admin_org_ids() RETURNS text[]
  LANGUAGE C STABLE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_admin_org_ids';
DELETE FROM analytics.access_list
 WHERE object_name IN ('analytics.role_has_kind(name, text[])', 'analytics.role_admin_orgs(name)');
DROP FUNCTION analytics.role_has_kind(name, text[]);
DROP FUNCTION analytics.role_admin_orgs(name);

/*
 * Organization-scoped admins read their organization's rows and change
 * nothing that every tenant shares: plans, prices, other users'
 * subscriptions, events and notifications, partitions, folds, retention and
 * jobs.  all_rows (materialized views) becomes the wider unscoped_only.
 */
ALTER TABLE analytics.access_list RENAME COLUMN all_rows TO unscoped_only;
COMMENT ON COLUMN analytics.access_list.unscoped_only IS
  'Not granted to organization-scoped admins: the object shows every user''s rows without row-level security (materialized views), or changes what every tenant shares (plans, prices, jobs, other tenants'' rows)';
UPDATE analytics.access_list SET unscoped_only = true
 WHERE kind = 'admin'
   AND (object_type = 'TABLE' AND object_name IN ('analytics.plans', 'analytics.model_prices', 'analytics.jobs')
        OR object_type = 'FUNCTION' AND object_name IN (
             'analytics.subscribe(text, text, timestamptz, text)',
             'analytics.ensure_partitions(integer)',
             'analytics.expire_reservations()',
             'analytics.apply_retention()',
             'analytics.clear_payloads()',
             'analytics.fold()',
             'analytics.refresh_all_views()',
             'analytics.rebuild_rollups(date, date)',
             'analytics.verify_rollups(date, date)',
             'analytics.job_status()',
             'analytics.acknowledge_notifications(bigint[])',
             'analytics.correct_event(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric)',
             'analytics.void_event(bigint, text)'));

DROP FUNCTION analytics.access_privileges(text);
CREATE FUNCTION analytics.access_privileges(kind text,
    OUT object_type text, OUT object_name text, OUT privilege text, OUT unscoped_only boolean)
  RETURNS SETOF record
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT a.object_type, a.object_name, a.privilege, a.unscoped_only
      FROM analytics.access_list a
     WHERE a.kind = '*' OR a.kind = access_privileges.kind
     ORDER BY a.object_type DESC, a.object_name
  $$;
COMMENT ON FUNCTION analytics.access_privileges(text) IS
  'The privileges each kind of role (app_backend, end_user, admin) receives from the grant helpers; unscoped_only ones not when scoped to an organization';
REVOKE ALL ON FUNCTION analytics.access_privileges(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION analytics.apply_privileges(role_name name, kind text, scoped boolean, do_grant boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p record;
BEGIN
  FOR p IN SELECT * FROM analytics.access_privileges(kind) LOOP
    EXECUTE format(CASE WHEN do_grant AND NOT (scoped AND p.unscoped_only) THEN 'GRANT %s ON %s %s TO %I'
                        ELSE 'REVOKE %s ON %s %s FROM %I' END,
                   p.privilege, p.object_type, p.object_name, role_name);
  END LOOP;
END
$$;

/*
 * Uninstalling leaves nothing behind.  DROP EXTENSION usage_analytics
 * fires this event trigger first (uninstall.c), which removes what lives
 * outside the extension's objects: the pg_cron jobs and the SET ON
 * PARAMETER grants (DROP ROLE would fail on those).
 */
CREATE FUNCTION analytics.uninstall_cleanup() RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  g record;
BEGIN
  IF to_regclass('cron.job') IS NOT NULL THEN
    BEGIN
      PERFORM analytics.unschedule_jobs();
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
      NULL;   -- pg_cron's functions are not there: no jobs either
    END;
  END IF;
  FOR g IN SELECT p.parname, a.grantee
             FROM pg_parameter_acl p, aclexplode(p.paracl) a
            WHERE p.parname LIKE 'usage\_analytics.%'
  LOOP
    EXECUTE format('REVOKE ALL ON PARAMETER %s FROM %s', g.parname,
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END);
  END LOOP;
END
$$;
COMMENT ON FUNCTION analytics.uninstall_cleanup() IS
  'Removes the extension''s pg_cron jobs and every grant on its settings; run by DROP EXTENSION (internal)';

CREATE FUNCTION analytics.on_drop_extension() RETURNS event_trigger
  LANGUAGE C
  AS 'MODULE_PATHNAME', 'ua_on_drop_extension';
COMMENT ON FUNCTION analytics.on_drop_extension() IS
  'Event trigger: runs uninstall_cleanup() before DROP EXTENSION usage_analytics (internal)';
CREATE EVENT TRIGGER usage_analytics_uninstall ON ddl_command_start
  WHEN TAG IN ('DROP EXTENSION')
  EXECUTE FUNCTION analytics.on_drop_extension();
COMMENT ON EVENT TRIGGER usage_analytics_uninstall IS
  'Cleans up pg_cron jobs and setting grants when usage_analytics is dropped';

/*
 * Append-only without holes: the guard triggers fire also under
 * session_replication_role = replica, and every partition refuses TRUNCATE
 * of its own (a statement trigger on the parent does not cover a
 * partition truncated by name).
 */
ALTER TABLE analytics.chat_events ENABLE ALWAYS TRIGGER chat_events_append_only;
ALTER TABLE analytics.chat_events ENABLE ALWAYS TRIGGER chat_events_no_truncate;

CREATE OR REPLACE FUNCTION analytics.index_partition(part regclass) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (user_id, occurred_at, id)', part);
  EXECUTE format('CREATE INDEX ON %s (id)', part);
  -- The fold reads new events by transaction id; dashboards read a user's
  -- not yet folded events.
  EXECUTE format('CREATE INDEX ON %s USING brin (recorded_xid)', part);
  EXECUTE format('CREATE INDEX ON %s (user_id, recorded_xid)', part);
  -- Reservations waiting to be settled or expired.
  EXECUTE format('CREATE INDEX ON %s (occurred_at) WHERE status = ''pending''', part);
  PERFORM analytics.guard_partition(part);
END
$$;
COMMENT ON FUNCTION analytics.index_partition(regclass) IS
  'Creates the primary key, indexes and TRUNCATE guard of a partition of chat_events (internal)';

CREATE FUNCTION analytics.guard_partition(part regclass) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER chat_events_no_truncate BEFORE TRUNCATE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION analytics.guard_append_only()', part);
  EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER chat_events_no_truncate', part);
END
$$;
COMMENT ON FUNCTION analytics.guard_partition(regclass) IS
  'Makes a partition of chat_events refuse TRUNCATE, in every session_replication_role (internal)';

SELECT analytics.guard_partition(i.inhrelid::regclass)
  FROM pg_catalog.pg_inherits i
 WHERE i.inhparent = 'analytics.chat_events'::regclass
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = i.inhrelid AND t.tgname = 'chat_events_no_truncate');

/*
 * The read functions take the argument names the README documents
 * (user_id, limit, offset), so calls in named notation work.  "limit" and
 * "offset" are SQL keywords: in named notation write "limit" => 10 (from
 * PostgREST, plain JSON keys).
 */
DROP FUNCTION analytics.list_notifications(text, boolean);
CREATE FUNCTION analytics.list_notifications(user_id text DEFAULT NULL, include_acknowledged boolean DEFAULT false)
  RETURNS SETOF analytics.notifications
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT n.* FROM analytics.notifications n
     WHERE (list_notifications.user_id IS NULL OR n.user_id = list_notifications.user_id)
       AND (list_notifications.include_acknowledged OR n.acknowledged_at IS NULL)
     ORDER BY n.created_at, n.notification_id;
  END;
COMMENT ON FUNCTION analytics.list_notifications(text, boolean) IS
  'Notifications the caller may see (RLS), oldest first; unacknowledged ones unless asked';

DROP FUNCTION analytics.get_user_token_breakdown(text);
CREATE FUNCTION analytics.get_user_token_breakdown(user_id text DEFAULT analytics.current_user_id())
  RETURNS TABLE (model text, provider text, request_count bigint, total_tokens bigint, total_cost numeric,
                 avg_tokens_per_request bigint, last_used timestamptz)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT u.model, NULLIF(u.provider, ''), u.requests, u.tokens_total, u.cost,
           (u.tokens_total / NULLIF(u.requests, 0))::bigint, u.last_used
      FROM analytics.user_model_usage(get_user_token_breakdown.user_id, '-infinity', 'infinity') u
     ORDER BY u.tokens_total DESC, u.model;
  END;
COMMENT ON FUNCTION analytics.get_user_token_breakdown(text) IS
  'A user''s all-time tokens and cost by model and provider (seed 003)';

DROP FUNCTION analytics.get_user_request_history(text, integer, integer);
CREATE FUNCTION analytics.get_user_request_history(user_id text DEFAULT analytics.current_user_id(),
    "limit" integer DEFAULT 50, "offset" integer DEFAULT 0)
  RETURNS SETOF analytics.request_history_row
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM analytics.check_page("limit", "offset");
  RETURN QUERY
  SELECT e.id, e.occurred_at, e.model, e.provider, e.status, e.input_tokens, e.cached_input_tokens,
         e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
         e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens,
         e.cost, e.response_time_ms, e.time_to_first_token_ms, e.category, e.conversation_id,
         e.document_id, e.error_code, e.feedback_rating
    FROM analytics.chat_events e
   WHERE e.user_id = get_user_request_history.user_id
   ORDER BY e.occurred_at DESC, e.id DESC
   LIMIT get_user_request_history."limit" OFFSET get_user_request_history."offset";
END
$$;
COMMENT ON FUNCTION analytics.get_user_request_history(text, integer, integer) IS
  'A page of a user''s requests, newest first (seed 003); for deep pages use get_user_request_history_before';

DROP FUNCTION analytics.get_user_request_history_before(text, timestamptz, bigint, integer);
CREATE FUNCTION analytics.get_user_request_history_before(user_id text, before_occurred_at timestamptz,
    before_id bigint, "limit" integer DEFAULT 50)
  RETURNS SETOF analytics.request_history_row
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM analytics.check_page("limit", 0);
  IF before_occurred_at IS NULL THEN
    RAISE EXCEPTION 'before_occurred_at must not be null' USING ERRCODE = '23502',
      HINT = 'Pass the occurred_at and id of the last row of the previous page.';
  END IF;
  RETURN QUERY
  SELECT e.id, e.occurred_at, e.model, e.provider, e.status, e.input_tokens, e.cached_input_tokens,
         e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
         e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens,
         e.cost, e.response_time_ms, e.time_to_first_token_ms, e.category, e.conversation_id,
         e.document_id, e.error_code, e.feedback_rating
    FROM analytics.chat_events e
   WHERE e.user_id = get_user_request_history_before.user_id
     AND (e.occurred_at, e.id) < (before_occurred_at, COALESCE(before_id, 9223372036854775807))
   ORDER BY e.occurred_at DESC, e.id DESC
   LIMIT get_user_request_history_before."limit";
END
$$;
COMMENT ON FUNCTION analytics.get_user_request_history_before(text, timestamptz, bigint, integer) IS
  'Keyset page of a user''s requests older than (before_occurred_at, before_id), newest first: constant time at any depth';

/*
 * user_dashboard: "performance" is this month's, every figure of it (it
 * mixed all-time averages with this month's percentiles).  "metrics" stays
 * all time.
 */
DROP FUNCTION analytics.user_dashboard(text);
CREATE FUNCTION analytics.user_dashboard(user_id text DEFAULT analytics.current_user_id())
  RETURNS jsonb
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  uid text := user_dashboard.user_id;
  q record;
  plan record;
  tot record;
  cur record;
  perf record;
BEGIN
  IF uid IS NULL THEN
    RAISE EXCEPTION 'user_id must not be null' USING ERRCODE = '23502',
      HINT = 'Set usage_analytics.user_id or pass a user id.';
  END IF;
  SELECT * INTO q FROM analytics.check_quota(uid, 0);
  SELECT * INTO plan FROM analytics.plans p WHERE p.plan_id = q.plan_id;
  -- All time and this month, from the counters (exact, read-your-writes).
  SELECT COALESCE(sum(c.requests), 0) AS requests,
         COALESCE(sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens), 0) AS tokens,
         COALESCE(sum(c.cost), 0) AS cost,
         sum(c.response_time_sum) AS rt_sum, sum(c.response_time_count) AS rt_count,
         COALESCE(sum(c.requests) FILTER (WHERE c.usage_date >= q.month_start), 0) AS month_requests,
         COALESCE(sum(c.failed) FILTER (WHERE c.usage_date >= q.month_start), 0) AS month_failed,
         sum(c.response_time_sum) FILTER (WHERE c.usage_date >= q.month_start) AS month_rt_sum,
         sum(c.response_time_count) FILTER (WHERE c.usage_date >= q.month_start) AS month_rt_count
    INTO tot
    FROM analytics.usage_counters c WHERE c.user_id = uid;
  SELECT COALESCE(sum(c.requests), 0) AS today
    INTO cur
    FROM analytics.usage_counters c
   WHERE c.user_id = uid
     AND c.usage_date = (now() AT TIME ZONE (SELECT s.time_zone FROM analytics.subject_at(uid, now()) s))::date;
  -- This month's latency percentiles and feedback: rollups plus the unfolded tail.
  SELECT analytics.quantiles(m.latency, '{0.5,0.95,0.99}') AS pct, m.feedback_sum AS fb_sum,
         m.feedback_count AS fb_count
    INTO perf
    FROM analytics.user_months_latency(uid, q.month_start, q.month_start) m;
  RETURN jsonb_build_object(
    'user', jsonb_build_object(
      'id', uid, 'plan', q.plan_id,
      'requestsUsed', tot.month_requests, 'requestsLimit', plan.monthly_request_limit),
    'metrics', jsonb_build_object(
      'totalRequests', tot.requests, 'totalTokensUsed', tot.tokens, 'totalCost', tot.cost,
      'averageResponseTime', round(tot.rt_sum::numeric / NULLIF(tot.rt_count, 0)),
      'requestsThisMonth', tot.month_requests, 'requestsToday', cur.today),
    'limits', jsonb_build_object(
      'monthlyUsed', tot.month_requests, 'monthlyLimit', plan.monthly_request_limit,
      'dailyUsed', cur.today, 'dailyLimit', plan.daily_request_limit,
      'canMakeRequest', q.allowed, 'planName', plan.name, 'status', q.status,
      'limitName', q.limit_name, 'usagePercent', q.usage_percent, 'resetsAt', q.resets_at),
    'performance', jsonb_build_object(
      'period', 'month', 'periodStart', q.month_start,
      'averageResponseTime', round(tot.month_rt_sum::numeric / NULLIF(tot.month_rt_count, 0)),
      'medianResponseTime', round(perf.pct[1]::numeric),
      'p95ResponseTime', round(perf.pct[2]::numeric),
      'p99ResponseTime', round(perf.pct[3]::numeric),
      'successRate', round(1 - tot.month_failed::numeric / NULLIF(tot.month_requests, 0), 4),
      'averageRating', round(perf.fb_sum::numeric / NULLIF(perf.fb_count, 0), 2),
      'totalRequests', tot.month_requests),
    'recentRequests', COALESCE((
      SELECT jsonb_agg(jsonb_build_object(
               'id', h.id, 'occurredAt', h.occurred_at, 'model', h.model, 'status', h.status,
               'tokens', h.tokens_total, 'cost', h.cost, 'responseTimeMs', h.response_time_ms,
               'category', h.category))
        FROM analytics.get_user_request_history(uid, 10, 0) h), '[]'),
    'requestsByCategory', COALESCE((
      SELECT jsonb_object_agg(x.category, x.n)
        FROM (SELECT c.category, sum(c.n)::bigint AS n
                FROM (SELECT r.category, r.requests AS n FROM analytics.rollup_user_categories r
                       WHERE r.user_id = uid AND r.usage_date >= q.month_start
                      UNION ALL
                      SELECT e.category, 1 FROM analytics.unfolded_events(uid, q.month_start, 'infinity') e
                       WHERE e.category IS NOT NULL) c
               GROUP BY c.category) x), '{}'));
END
$$;
COMMENT ON FUNCTION analytics.user_dashboard(text) IS
  'A user''s dashboard (seed 001): user, metrics (all time), limits with canMakeRequest, performance (this month: latency average and percentiles, success rate, rating, requests), recentRequests, requestsByCategory (this month)';

/*
 * mv_document_popularity: windows are UTC days (document rollups are UTC
 * days), not the refreshing session's current_date; empty windows are 0.
 */
DROP MATERIALIZED VIEW analytics.mv_document_popularity;
CREATE MATERIALIZED VIEW analytics.mv_document_popularity AS
WITH today AS (SELECT (pg_catalog.now() AT TIME ZONE 'UTC')::date AS d)
SELECT d.document_id,
       COALESCE(sum(d.requests) FILTER (WHERE d.usage_date > t.d - 7), 0)::bigint AS requests_7d,
       COALESCE(sum(d.requests) FILTER (WHERE d.usage_date > t.d - 30), 0)::bigint AS requests_30d,
       sum(d.requests)::bigint AS requests_all_time,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'document_user' AND x.scope_id = d.document_id AND x.usage_date > t.d - 7) AS users_7d,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'document_user' AND x.scope_id = d.document_id AND x.usage_date > t.d - 30) AS users_30d,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'document_user' AND x.scope_id = d.document_id) AS users_all_time,
       COALESCE(sum(d.cost) FILTER (WHERE d.usage_date > t.d - 30), 0) AS cost_30d,
       sum(d.cost) AS cost_all_time,
       round(sum(d.feedback_sum)::numeric / NULLIF(sum(d.feedback_count), 0), 2) AS avg_feedback_rating,
       max(d.usage_date) AS last_used_date
  FROM analytics.rollup_documents d, today t
 GROUP BY d.document_id, t.d
WITH NO DATA;
CREATE UNIQUE INDEX mv_document_popularity_key ON analytics.mv_document_popularity (document_id);
COMMENT ON MATERIALIZED VIEW analytics.mv_document_popularity IS
  'Per-document requests, users and cost over the last 7 and 30 UTC days (as of the refresh; 0 when none) and all time; admins and app backends only';
REVOKE ALL ON analytics.mv_document_popularity FROM PUBLIC;

/*
 * record_chat_events is bounded: a batch of more than
 * usage_analytics.max_batch_events elements is refused before anything is
 * written (it was unbounded: 200,001 events ran for over ten minutes).
 * record_chat_events calls it (its latest body is in the clients section
 * below).
 */
CREATE FUNCTION analytics.check_batch_size(events jsonb) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n   integer;
  cap integer := analytics.setting('max_batch_events')::integer;
BEGIN
  IF events IS NULL OR jsonb_typeof(events) <> 'array' THEN
    RAISE EXCEPTION 'events must be a JSON array of objects' USING ERRCODE = '22023';
  END IF;
  n := jsonb_array_length(events);
  IF n > cap THEN
    RAISE EXCEPTION 'a batch holds at most % events, this one has %', cap, n
      USING ERRCODE = '54000',
            HINT = 'Split it into several calls, or raise usage_analytics.max_batch_events.';
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.check_batch_size(jsonb) IS
  'Refuses a batch that is not a JSON array or holds more than usage_analytics.max_batch_events elements (internal to record_chat_events)';
/*
 * For operators: how far the fold lags, and the jobs' recent failures.
 */
CREATE FUNCTION analytics.fold_lag_status(OUT unfolded_events bigint, OUT oldest_unfolded_at timestamptz,
    OUT lag interval, OUT last_fold_at timestamptz, OUT watermark bigint, OUT needs_repair boolean)
  RETURNS record
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  SELECT f.folded_at, f.watermark, f.needs_repair INTO last_fold_at, watermark, needs_repair
    FROM analytics.fold_state f;
  -- What fold() would fold now: finished events at or above the watermark.
  SELECT count(*), min(e.recorded_at) INTO unfolded_events, oldest_unfolded_at
    FROM analytics.chat_events e
   WHERE e.recorded_xid >= fold_lag_status.watermark AND e.status IN ('completed', 'failed');
  lag := COALESCE(now() - oldest_unfolded_at, interval '0');
END
$$;
COMMENT ON FUNCTION analytics.fold_lag_status() IS
  'Events not yet folded, the age of the oldest, and the last fold (read by analytics.fold_lag)';
CREATE VIEW analytics.fold_lag AS SELECT * FROM analytics.fold_lag_status();
COMMENT ON VIEW analytics.fold_lag IS
  'How far the rollups lag the raw log: events not yet folded, the oldest one''s recorded_at and age, the last fold';

CREATE FUNCTION analytics.job_failure_list(since timestamptz DEFAULT now() - interval '7 days')
  RETURNS TABLE (job_name text, start_time timestamptz, end_time timestamptz, status text, message text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF to_regclass('cron.job_run_details') IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY EXECUTE $q$
    SELECT j.jobname::text, r.start_time, r.end_time, r.status, r.return_message
      FROM cron.job j JOIN cron.job_run_details r ON r.jobid = j.jobid
     WHERE j.jobname IN (SELECT d.job_name FROM analytics.job_definitions() d)
       AND r.status = 'failed' AND r.start_time >= $1
     ORDER BY r.start_time DESC $q$ USING since;
END
$$;
COMMENT ON FUNCTION analytics.job_failure_list(timestamptz) IS
  'Failed runs of the extension''s pg_cron jobs since a time, newest first (read by analytics.job_failures)';
CREATE VIEW analytics.job_failures AS SELECT * FROM analytics.job_failure_list();
COMMENT ON VIEW analytics.job_failures IS
  'Failed runs of the extension''s pg_cron jobs in the last 7 days, newest first, with pg_cron''s message';

REVOKE ALL ON FUNCTION analytics.setting(text), analytics.uninstall_cleanup(), analytics.on_drop_extension(),
                       analytics.guard_partition(regclass), analytics.check_batch_size(jsonb),
                       analytics.fold_lag_status(), analytics.job_failure_list(timestamptz),
                       analytics.list_notifications(text, boolean), analytics.get_user_token_breakdown(text),
                       analytics.get_user_request_history(text, integer, integer),
                       analytics.get_user_request_history_before(text, timestamptz, bigint, integer),
                       analytics.user_dashboard(text), analytics.sees_all_rows(), analytics.admin_org_ids()
  FROM PUBLIC;
REVOKE ALL ON analytics.fold_lag, analytics.job_failures FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'FUNCTION', 'analytics.setting(text)', 'EXECUTE', false),
  ('admin', 'TABLE', 'analytics.fold_lag', 'SELECT', true),
  ('admin', 'FUNCTION', 'analytics.fold_lag_status()', 'EXECUTE', true),
  ('admin', 'TABLE', 'analytics.job_failures', 'SELECT', true),
  ('admin', 'FUNCTION', 'analytics.job_failure_list(timestamptz)', 'EXECUTE', true);

-- ==== issue 11: notifications exactly once under concurrency ====
-- fold() now also records the thresholds that concurrent writers reached
-- together without any of them seeing it (src/fold.c, src/notify.c).
COMMENT ON TABLE analytics.notifications IS
  'Outbox of usage thresholds reached: one row per user, limit, period and threshold, exactly once, written in the transaction that reached it (or, when concurrent transactions reached it together, by the next fold()) and announced with NOTIFY usage_analytics';
COMMENT ON FUNCTION analytics.fold() IS
  'Folds the events recorded since the last fold into the rollups, exactly once; safe with concurrent writers and folds; then records the threshold notifications its events reached that their writers could not see; returns how many events';

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

-- The 1.0 mappers validate as the new ones do (a negative, fractional or
-- non-numeric count, or more cached than prompt tokens, was taken as is):
-- the same field reader, usage_tokens.
CREATE OR REPLACE FUNCTION analytics.openai_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  -- Chat Completions: prompt_tokens / completion_tokens (+ *_details);
  -- Responses API: input_tokens / output_tokens (+ *_details).
  chat      boolean := usage ? 'prompt_tokens' OR usage ? 'completion_tokens';
  prompt    bigint := analytics.usage_tokens(usage, CASE WHEN chat THEN '{prompt_tokens}' ELSE '{input_tokens}' END::text[]);
  cached    bigint := analytics.usage_tokens(usage, CASE WHEN chat THEN '{prompt_tokens_details,cached_tokens}'
                                                   ELSE '{input_tokens_details,cached_tokens}' END::text[]);
  outp      bigint := analytics.usage_tokens(usage, CASE WHEN chat THEN '{completion_tokens}' ELSE '{output_tokens}' END::text[]);
  reasoning bigint := analytics.usage_tokens(usage, CASE WHEN chat THEN '{completion_tokens_details,reasoning_tokens}'
                                                   ELSE '{output_tokens_details,reasoning_tokens}' END::text[]);
BEGIN
  IF jsonb_typeof(usage) <> 'object' THEN
    RAISE EXCEPTION 'usage must be a JSON object, not %', jsonb_typeof(usage) USING ERRCODE = '22023';
  END IF;
  -- prompt tokens include the cached ones; completion tokens the reasoning.
  IF cached > prompt THEN
    RAISE EXCEPTION 'cached_tokens (%) exceeds the prompt tokens (%)', cached, prompt USING ERRCODE = '22023';
  END IF;
  IF reasoning > outp THEN
    RAISE EXCEPTION 'reasoning_tokens (%) exceeds the completion tokens (%)', reasoning, outp USING ERRCODE = '22023';
  END IF;
  input_tokens := prompt - cached;
  cached_input_tokens := cached;
  cache_write_tokens := 0;
  output_tokens := outp;
  reasoning_tokens := reasoning;
END
$$;

CREATE OR REPLACE FUNCTION analytics.anthropic_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF jsonb_typeof(usage) <> 'object' THEN
    RAISE EXCEPTION 'usage must be a JSON object, not %', jsonb_typeof(usage) USING ERRCODE = '22023';
  END IF;
  -- Anthropic's input_tokens already exclude cache reads and writes.
  input_tokens := analytics.usage_tokens(usage, '{input_tokens}');
  cached_input_tokens := analytics.usage_tokens(usage, '{cache_read_input_tokens}');
  cache_write_tokens := analytics.usage_tokens(usage, '{cache_creation_input_tokens}');
  output_tokens := analytics.usage_tokens(usage, '{output_tokens}');
  reasoning_tokens := 0;
END
$$;

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
-- Prices are shared by every tenant: not for organization-scoped admins.
UPDATE analytics.access_list SET unscoped_only = true
 WHERE kind = 'admin' AND object_name IN ('analytics.model_aliases', 'analytics.litellm_rate(text, jsonb, text)',
                                          'analytics.import_litellm_prices(jsonb, timestamptz, text[])');

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
  PERFORM analytics.check_batch_size(events);
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

-- ==== end of 1.1: what every bound role holds now ====
-- Roles bound before this update get what their kind holds now (and
-- organization-scoped admins lose what they may no longer change).
SELECT analytics.apply_privileges(b.role_name, b.kind, b.org_id IS NOT NULL, true)
  FROM analytics.role_bindings b
 WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = b.role_name);
SELECT analytics.refresh_all_views();
