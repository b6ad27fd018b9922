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

-- ==== issue 11: notifications exactly once under concurrency ====
-- fold() now also records the thresholds that concurrent writers reached
-- together without any of them seeing it (src/fold.c, src/notify.c).
COMMENT ON TABLE analytics.notifications IS
  'Outbox of usage thresholds reached: one row per user, limit, period and threshold, exactly once, written in the transaction that reached it (or, when concurrent transactions reached it together, by the next fold()) and announced with NOTIFY usage_analytics';
COMMENT ON FUNCTION analytics.fold() IS
  'Folds the events recorded since the last fold into the rollups, exactly once; safe with concurrent writers and folds; then records the threshold notifications its events reached that their writers could not see; returns how many events';
