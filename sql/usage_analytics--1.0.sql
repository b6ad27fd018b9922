/*-------------------------------------------------------------------------
 * usage_analytics--1.0.sql
 *    Install script: schema analytics, raw log, price book, plans,
 *    subscriptions, exact counters, quota check, identity and RLS.
 *
 * Conventions: plain CREATE only; everything qualified; every SECURITY
 * DEFINER function pins search_path; REVOKE ... FROM PUBLIC, then grants
 * go through analytics.grant_*() (one list of privileges, see
 * analytics.access_privileges).
 *-------------------------------------------------------------------------
 */
\echo Use "CREATE EXTENSION usage_analytics" to load this file. \quit

-- Fails if the schema exists: we never adopt objects somebody else created.
CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS
  'usage_analytics: LLM request log, exact usage counters, plans, quotas and analytics';
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;

/* ------------------------------------------------------------------------
 * Identity and role bindings
 * ------------------------------------------------------------------------ */

CREATE FUNCTION analytics.current_user_id() RETURNS text
  LANGUAGE C STABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_current_user_id';
COMMENT ON FUNCTION analytics.current_user_id() IS
  'The end user this session acts for: usage_analytics.user_id, or the request.jwt.claims subject when usage_analytics.trust_jwt_claims is on; NULL when unset';

CREATE TABLE analytics.role_bindings (
  role_name  name NOT NULL,
  kind       text NOT NULL
             CHECK (kind IN ('app_backend', 'end_user', 'admin')),
  org_id     text,
  granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (role_name, kind)
);
COMMENT ON TABLE analytics.role_bindings IS
  'Database roles bound to a kind of access by analytics.grant_app_backend/grant_end_user/grant_admin; admin rows with org_id see that organization only';

-- Does role r hold one of the kinds (directly or through membership)?
-- Superusers hold every kind.  Org-scoped admin bindings do not count here.
CREATE FUNCTION analytics.role_has_kind(r name, kinds text[]) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a
                    WHERE a.rolname OPERATOR(pg_catalog.=) r AND a.rolsuper)
        OR EXISTS (SELECT 1 FROM analytics.role_bindings b
                    WHERE b.kind OPERATOR(pg_catalog.=) ANY (kinds)
                      AND b.org_id IS NULL
                      AND pg_catalog.pg_has_role(r, b.role_name, 'USAGE'))
  $$;
COMMENT ON FUNCTION analytics.role_has_kind(name, text[]) IS
  'True when role r is a superuser or a member of a role bound to one of kinds (all-rows bindings only)';

-- Row visibility for RLS: the caller reads every row.
CREATE FUNCTION analytics.sees_all_rows() RETURNS boolean
  LANGUAGE sql STABLE
  AS $$ SELECT analytics.role_has_kind(CURRENT_USER, '{admin,app_backend}') $$;
COMMENT ON FUNCTION analytics.sees_all_rows() IS
  'True for superusers, app-backend roles and all-rows admins: RLS lets them read every user''s rows';

-- Organizations whose rows role r administers (org-scoped admin bindings).
CREATE FUNCTION analytics.role_admin_orgs(r name) RETURNS text[]
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT COALESCE(pg_catalog.array_agg(DISTINCT b.org_id), '{}')
      FROM analytics.role_bindings b
     WHERE b.kind OPERATOR(pg_catalog.=) 'admin' AND b.org_id IS NOT NULL
       AND pg_catalog.pg_has_role(r, b.role_name, 'USAGE')
  $$;
COMMENT ON FUNCTION analytics.role_admin_orgs(name) IS
  'Organizations role r administers through org-scoped admin bindings';

-- The caller's organizations.  The role is passed in: inside a SECURITY
-- DEFINER function CURRENT_USER would be the owner.
CREATE FUNCTION analytics.admin_org_ids() RETURNS text[]
  LANGUAGE sql STABLE
  AS $$ SELECT analytics.role_admin_orgs(CURRENT_USER) $$;
COMMENT ON FUNCTION analytics.admin_org_ids() IS
  'Organizations the current role administers: RLS lets it read their events';

/* ------------------------------------------------------------------------
 * latency_sketch: mergeable quantile sketch, relative error <= 1 % (C)
 * ------------------------------------------------------------------------ */

CREATE TYPE analytics.latency_sketch;
CREATE FUNCTION analytics.latency_sketch_in(cstring) RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_in';
CREATE FUNCTION analytics.latency_sketch_out(analytics.latency_sketch) RETURNS cstring
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_out';
CREATE FUNCTION analytics.latency_sketch_recv(internal) RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_recv';
CREATE FUNCTION analytics.latency_sketch_send(analytics.latency_sketch) RETURNS bytea
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_send';
CREATE TYPE analytics.latency_sketch (
  INPUT = analytics.latency_sketch_in,
  OUTPUT = analytics.latency_sketch_out,
  RECEIVE = analytics.latency_sketch_recv,
  SEND = analytics.latency_sketch_send,
  INTERNALLENGTH = VARIABLE,
  ALIGNMENT = double,
  STORAGE = extended
);
COMMENT ON TYPE analytics.latency_sketch IS
  'Mergeable quantile sketch (logarithmic buckets, relative error <= 1 %, at most 2048 buckets)';
COMMENT ON FUNCTION analytics.latency_sketch_in(cstring) IS 'Text input of latency_sketch';
COMMENT ON FUNCTION analytics.latency_sketch_out(analytics.latency_sketch) IS 'Text output of latency_sketch';
COMMENT ON FUNCTION analytics.latency_sketch_recv(internal) IS 'Binary input of latency_sketch';
COMMENT ON FUNCTION analytics.latency_sketch_send(analytics.latency_sketch) IS 'Binary output of latency_sketch';

CREATE FUNCTION analytics.latency_sketch_from_bytea(bytea) RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_from_bytea';
COMMENT ON FUNCTION analytics.latency_sketch_from_bytea(bytea) IS
  'A sketch from its binary format (as sent by latency_sketch_send), validated';
CREATE FUNCTION analytics.latency_sketch_to_bytea(analytics.latency_sketch) RETURNS bytea
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_to_bytea';
COMMENT ON FUNCTION analytics.latency_sketch_to_bytea(analytics.latency_sketch) IS
  'The binary format of a sketch';

CREATE FUNCTION analytics.latency_sketch_add_trans(internal, double precision) RETURNS internal
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_add_trans';
COMMENT ON FUNCTION analytics.latency_sketch_add_trans(internal, double precision) IS
  'Transition function of latency_sketch_agg';
CREATE FUNCTION analytics.latency_sketch_merge_trans(internal, analytics.latency_sketch) RETURNS internal
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_merge_trans';
COMMENT ON FUNCTION analytics.latency_sketch_merge_trans(internal, analytics.latency_sketch) IS
  'Transition function of latency_sketch_merge';
CREATE FUNCTION analytics.latency_sketch_combine(internal, internal) RETURNS internal
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_combine_states';
COMMENT ON FUNCTION analytics.latency_sketch_combine(internal, internal) IS
  'Combine function of the sketch aggregates (parallel aggregation)';
CREATE FUNCTION analytics.latency_sketch_serialize(internal) RETURNS bytea
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_serialize';
COMMENT ON FUNCTION analytics.latency_sketch_serialize(internal) IS
  'Serialize function of the sketch aggregates';
CREATE FUNCTION analytics.latency_sketch_deserialize(bytea, internal) RETURNS internal
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_deserialize';
COMMENT ON FUNCTION analytics.latency_sketch_deserialize(bytea, internal) IS
  'Deserialize function of the sketch aggregates';
CREATE FUNCTION analytics.latency_sketch_final(internal) RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_final';
COMMENT ON FUNCTION analytics.latency_sketch_final(internal) IS
  'Final function of the sketch aggregates';

CREATE AGGREGATE analytics.latency_sketch_agg(double precision) (
  SFUNC = analytics.latency_sketch_add_trans,
  STYPE = internal,
  FINALFUNC = analytics.latency_sketch_final,
  COMBINEFUNC = analytics.latency_sketch_combine,
  SERIALFUNC = analytics.latency_sketch_serialize,
  DESERIALFUNC = analytics.latency_sketch_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE analytics.latency_sketch_agg(double precision) IS
  'The latency_sketch of a set of values (>= 0; NULLs are skipped)';
CREATE AGGREGATE analytics.latency_sketch_merge(analytics.latency_sketch) (
  SFUNC = analytics.latency_sketch_merge_trans,
  STYPE = internal,
  FINALFUNC = analytics.latency_sketch_final,
  COMBINEFUNC = analytics.latency_sketch_combine,
  SERIALFUNC = analytics.latency_sketch_serialize,
  DESERIALFUNC = analytics.latency_sketch_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE analytics.latency_sketch_merge(analytics.latency_sketch) IS
  'The union of a set of latency_sketch values';

CREATE FUNCTION analytics.latency_sketch_union(analytics.latency_sketch, analytics.latency_sketch)
  RETURNS analytics.latency_sketch
  LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_union';
COMMENT ON FUNCTION analytics.latency_sketch_union(analytics.latency_sketch, analytics.latency_sketch) IS
  'The union of two sketches (NULL counts as empty)';
CREATE FUNCTION analytics.quantile(analytics.latency_sketch, double precision) RETURNS double precision
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_quantile';
COMMENT ON FUNCTION analytics.quantile(analytics.latency_sketch, double precision) IS
  'Estimated q-quantile (0 <= q <= 1), interpolated like percentile_cont, within 1 %; NULL for an empty sketch';
CREATE FUNCTION analytics.quantiles(analytics.latency_sketch, double precision[]) RETURNS double precision[]
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_quantiles';
COMMENT ON FUNCTION analytics.quantiles(analytics.latency_sketch, double precision[]) IS
  'Estimated quantiles for an array of q';
CREATE FUNCTION analytics.sketch_count(analytics.latency_sketch) RETURNS bigint
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_count';
COMMENT ON FUNCTION analytics.sketch_count(analytics.latency_sketch) IS 'Number of values (exact)';
CREATE FUNCTION analytics.sketch_sum(analytics.latency_sketch) RETURNS double precision
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_sum';
COMMENT ON FUNCTION analytics.sketch_sum(analytics.latency_sketch) IS 'Sum of the values';
CREATE FUNCTION analytics.sketch_min(analytics.latency_sketch) RETURNS double precision
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_min';
COMMENT ON FUNCTION analytics.sketch_min(analytics.latency_sketch) IS 'Smallest value (exact), NULL if empty';
CREATE FUNCTION analytics.sketch_max(analytics.latency_sketch) RETURNS double precision
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ua_sketch_max';
COMMENT ON FUNCTION analytics.sketch_max(analytics.latency_sketch) IS 'Largest value (exact), NULL if empty';

/* ------------------------------------------------------------------------
 * Price book
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.model_prices (
  provider              text NOT NULL CHECK (provider <> ''),
  model                 text NOT NULL CHECK (model <> ''),
  effective_from        timestamptz NOT NULL,
  input_per_mtok        numeric NOT NULL,
  cached_input_per_mtok numeric NOT NULL,
  cache_write_per_mtok  numeric NOT NULL,
  output_per_mtok       numeric NOT NULL,
  currency              text NOT NULL DEFAULT 'USD' CHECK (currency = 'USD'),
  builtin               boolean NOT NULL DEFAULT false,
  PRIMARY KEY (provider, model, effective_from),
  CONSTRAINT model_prices_rates_valid CHECK (
    input_per_mtok >= 0 AND input_per_mtok < 1000000 AND
    cached_input_per_mtok >= 0 AND cached_input_per_mtok < 1000000 AND
    cache_write_per_mtok >= 0 AND cache_write_per_mtok < 1000000 AND
    output_per_mtok >= 0 AND output_per_mtok < 1000000)
);
CREATE INDEX model_prices_model_idx
  ON analytics.model_prices (model, provider, effective_from DESC);
COMMENT ON TABLE analytics.model_prices IS
  'Price per million tokens for each ledger bucket, per provider and model, in force from effective_from until the next row';

-- Cost of one request at the price in force at p_at.  Returns at most two
-- rows (one per provider): two rows mean the model name is ambiguous.
CREATE FUNCTION analytics.price_request(
    p_model text, p_provider text, p_at timestamptz,
    p_input bigint, p_cached bigint, p_write bigint, p_output bigint,
    OUT provider text, OUT cost_input numeric, OUT cost_cached_input numeric,
    OUT cost_cache_write numeric, OUT cost_output numeric, OUT cache_savings numeric)
  RETURNS SETOF record
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT DISTINCT ON (p.provider) p.provider,
           pg_catalog.round(p_input  * p.input_per_mtok        / 1000000, 10),
           pg_catalog.round(p_cached * p.cached_input_per_mtok / 1000000, 10),
           pg_catalog.round(p_write  * p.cache_write_per_mtok  / 1000000, 10),
           pg_catalog.round(p_output * p.output_per_mtok       / 1000000, 10),
           pg_catalog.round(p_cached * GREATEST(p.input_per_mtok - p.cached_input_per_mtok, 0) / 1000000, 10)
      FROM analytics.model_prices p
     WHERE p.model = p_model
       AND (p_provider IS NULL OR p.provider = p_provider)
       AND p.effective_from <= p_at
     ORDER BY p.provider, p.effective_from DESC
     LIMIT 2
  $$;
COMMENT ON FUNCTION analytics.price_request(text, text, timestamptz, bigint, bigint, bigint, bigint) IS
  'Per-bucket cost of a request at the price in force at a time; used by record_chat_event';

/* ------------------------------------------------------------------------
 * Plans and subscriptions
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.plans (
  plan_id                text PRIMARY KEY CHECK (plan_id <> ''),
  name                   text NOT NULL,
  daily_request_limit    bigint CHECK (daily_request_limit >= 0),
  monthly_request_limit  bigint CHECK (monthly_request_limit >= 0),
  monthly_token_limit    bigint CHECK (monthly_token_limit >= 0),
  monthly_cost_limit     numeric CHECK (monthly_cost_limit >= 0 AND monthly_cost_limit < 'Infinity'),
  max_tokens_per_request bigint CHECK (max_tokens_per_request >= 0),
  enforcement            text NOT NULL DEFAULT 'hard' CHECK (enforcement IN ('hard', 'soft')),
  warn_thresholds        numeric[] NOT NULL DEFAULT '{0.8,1.0}'
                         CHECK (pg_catalog.cardinality(warn_thresholds) BETWEEN 1 AND 10
                                AND 0 < ALL (warn_thresholds) AND 10 >= ALL (warn_thresholds)),
  features               jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(features) = 'object'),
  price_per_month        numeric NOT NULL DEFAULT 0 CHECK (price_per_month >= 0 AND price_per_month < 'Infinity'),
  billing_cycle          text NOT NULL DEFAULT 'monthly' CHECK (billing_cycle IN ('monthly', 'yearly')),
  included_units         bigint CHECK (included_units >= 0),
  overage_unit_price     numeric CHECK (overage_unit_price >= 0 AND overage_unit_price < 'Infinity'),
  builtin                boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE analytics.plans IS
  'Plans with limits (NULL = no limit of that kind), enforcement, warning thresholds, features and pricing';

CREATE TABLE analytics.subscriptions (
  subscription_id bigint GENERATED ALWAYS AS IDENTITY,
  user_id         text NOT NULL CHECK (user_id <> ''),
  plan_id         text NOT NULL REFERENCES analytics.plans (plan_id),
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz,
  time_zone       text NOT NULL DEFAULT 'UTC',
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (user_id, subscription_id),
  CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX subscriptions_lookup_idx
  ON analytics.subscriptions (user_id, starts_at DESC);
COMMENT ON TABLE analytics.subscriptions IS
  'Binds a user to a plan for [starts_at, ends_at); its time_zone decides the user''s day and month buckets';

-- The plan and time zone in force for a user at a time (default plan, UTC
-- without a subscription).
CREATE FUNCTION analytics.subject_at(p_user_id text, p_at timestamptz,
    OUT plan_id text, OUT time_zone text)
  RETURNS record
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT COALESCE(s.plan_id, pg_catalog.current_setting('usage_analytics.default_plan')),
           COALESCE(s.time_zone, 'UTC')
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
        SELECT s.plan_id, s.time_zone
          FROM analytics.subscriptions s
         WHERE s.user_id = p_user_id
           AND s.starts_at <= p_at
           AND (s.ends_at IS NULL OR s.ends_at > p_at)
         ORDER BY s.starts_at DESC
         LIMIT 1) s ON true
  $$;
COMMENT ON FUNCTION analytics.subject_at(text, timestamptz) IS
  'Plan and time zone in force for a user at a time (usage_analytics.default_plan and UTC without a subscription)';

CREATE FUNCTION analytics.subscribe(user_id text, plan_id text,
    starts_at timestamptz DEFAULT pg_catalog.now(), time_zone text DEFAULT 'UTC')
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  v_id bigint;
BEGIN
  IF subscribe.user_id IS NULL OR subscribe.user_id = '' THEN
    RAISE EXCEPTION 'user_id must not be null or empty' USING ERRCODE = '23502';
  END IF;
  IF subscribe.starts_at IS NULL OR NOT pg_catalog.isfinite(subscribe.starts_at) THEN
    RAISE EXCEPTION 'starts_at must be a finite timestamp' USING ERRCODE = '22008';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM analytics.plans p WHERE p.plan_id = subscribe.plan_id) THEN
    RAISE EXCEPTION 'plan "%" does not exist', subscribe.plan_id
      USING ERRCODE = '42704', HINT = 'See analytics.plans for the defined plans.';
  END IF;
  IF subscribe.time_zone IS NULL
     OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = subscribe.time_zone) THEN
    RAISE EXCEPTION 'unknown time zone "%"', subscribe.time_zone
      USING ERRCODE = '22023', HINT = 'Use a name from pg_timezone_names, such as Europe/Paris or UTC.';
  END IF;
  -- Serialize subscription changes of one user.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('usage_analytics.subscribe:' || subscribe.user_id, 0));
  DELETE FROM analytics.subscriptions s
   WHERE s.user_id = subscribe.user_id AND s.starts_at >= subscribe.starts_at;
  UPDATE analytics.subscriptions s SET ends_at = subscribe.starts_at
   WHERE s.user_id = subscribe.user_id
     AND (s.ends_at IS NULL OR s.ends_at > subscribe.starts_at);
  INSERT INTO analytics.subscriptions (user_id, plan_id, starts_at, time_zone)
  VALUES (subscribe.user_id, subscribe.plan_id, subscribe.starts_at, subscribe.time_zone)
  RETURNING subscription_id INTO v_id;
  RETURN v_id;
END
$$;
COMMENT ON FUNCTION analytics.subscribe(text, text, timestamptz, text) IS
  'Starts a subscription of a user to a plan at starts_at in a time zone, ending the current one; returns its id';

/* ------------------------------------------------------------------------
 * The raw log
 * ------------------------------------------------------------------------ */

CREATE SEQUENCE analytics.chat_events_id_seq AS bigint;

CREATE TABLE analytics.chat_events (
  id                      bigint NOT NULL DEFAULT pg_catalog.nextval('analytics.chat_events_id_seq'),
  occurred_at             timestamptz NOT NULL,
  recorded_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
  usage_date              date NOT NULL,
  user_id                 text NOT NULL CHECK (user_id <> ''),
  org_id                  text,
  conversation_id         text,
  message_id              text,
  document_id             text,
  session_id              text,
  request_id              text,
  provider                text,
  model                   text NOT NULL CHECK (model <> ''),
  request_type            text,
  category                text,
  query_intent            text,
  status                  text NOT NULL
                          CHECK (status IN ('pending', 'completed', 'failed', 'rejected', 'expired')),
  input_tokens            integer NOT NULL DEFAULT 0 CHECK (input_tokens BETWEEN 0 AND 100000000),
  cached_input_tokens     integer NOT NULL DEFAULT 0 CHECK (cached_input_tokens BETWEEN 0 AND 100000000),
  cache_write_tokens      integer NOT NULL DEFAULT 0 CHECK (cache_write_tokens BETWEEN 0 AND 100000000),
  output_tokens           integer NOT NULL DEFAULT 0 CHECK (output_tokens BETWEEN 0 AND 100000000),
  reasoning_tokens        integer NOT NULL DEFAULT 0 CHECK (reasoning_tokens BETWEEN 0 AND output_tokens),
  cost                    numeric NOT NULL CHECK (cost >= 0 AND cost <= 1000000),
  cost_input              numeric CHECK (cost_input >= 0 AND cost_input <= 1000000),
  cost_cached_input       numeric CHECK (cost_cached_input >= 0 AND cost_cached_input <= 1000000),
  cost_cache_write        numeric CHECK (cost_cache_write >= 0 AND cost_cache_write <= 1000000),
  cost_output             numeric CHECK (cost_output >= 0 AND cost_output <= 1000000),
  cache_savings           numeric CHECK (cache_savings >= 0 AND cache_savings <= 1000000),
  cost_source             text NOT NULL CHECK (cost_source IN ('computed', 'provided')),
  response_time_ms        integer CHECK (response_time_ms BETWEEN 0 AND 86400000),
  time_to_first_token_ms  integer CHECK (time_to_first_token_ms BETWEEN 0 AND 86400000),
  cache_hit               boolean NOT NULL DEFAULT false,
  error_code              text,
  error_message           text,
  feedback_rating         smallint CHECK (feedback_rating BETWEEN 1 AND 5),
  feedback_text           text,
  feedback_at             timestamptz,
  sections_referenced     text[],
  intermediate_steps      integer CHECK (intermediate_steps BETWEEN 0 AND 100000),
  metadata                jsonb CHECK (metadata IS NULL OR pg_catalog.jsonb_typeof(metadata) = 'object'),
  PRIMARY KEY (user_id, occurred_at, id)
) PARTITION BY RANGE (occurred_at);
ALTER SEQUENCE analytics.chat_events_id_seq OWNED BY analytics.chat_events.id;
CREATE INDEX chat_events_id_idx ON analytics.chat_events (id);
CREATE INDEX chat_events_occurred_idx ON analytics.chat_events USING brin (occurred_at);
COMMENT ON TABLE analytics.chat_events IS
  'Append-only raw log, one row per LLM request, partitioned by month of occurred_at; written only by the extension''s functions';
COMMENT ON COLUMN analytics.chat_events.usage_date IS
  'Day of occurred_at in the user''s time zone when the event was recorded: the counter bucket it was added to';
COMMENT ON COLUMN analytics.chat_events.input_tokens IS 'Uncached input tokens';
COMMENT ON COLUMN analytics.chat_events.cached_input_tokens IS 'Input tokens read from the provider''s prompt cache';
COMMENT ON COLUMN analytics.chat_events.cache_write_tokens IS 'Input tokens written to the provider''s prompt cache';
COMMENT ON COLUMN analytics.chat_events.output_tokens IS 'Output tokens, reasoning included';
COMMENT ON COLUMN analytics.chat_events.reasoning_tokens IS 'Part of output_tokens spent on reasoning (informational)';
COMMENT ON COLUMN analytics.chat_events.cost IS 'Total cost in USD, frozen at ingest';
COMMENT ON COLUMN analytics.chat_events.cost_source IS 'computed from analytics.model_prices, or provided by the caller';

-- Catch-all partition: an event for a month without a partition is never lost;
-- analytics.ensure_partitions() moves such rows into their month.
CREATE TABLE analytics.chat_events_default PARTITION OF analytics.chat_events DEFAULT;

-- Idempotency keys: one row per (user_id, request_id), across partitions.
CREATE TABLE analytics.request_keys (
  user_id     text NOT NULL,
  request_id  text NOT NULL,
  event_id    bigint NOT NULL,
  occurred_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, request_id)
);
COMMENT ON TABLE analytics.request_keys IS
  'Idempotency keys of recorded requests: a repeat of (user_id, request_id) returns event_id and records nothing';

-- Append-only guard (C): UPDATE, DELETE and TRUNCATE of the log are refused
-- unless the extension's own C code is doing them.
CREATE FUNCTION analytics.guard_append_only() RETURNS trigger
  LANGUAGE C AS 'MODULE_PATHNAME', 'ua_guard_append_only';
COMMENT ON FUNCTION analytics.guard_append_only() IS
  'Trigger refusing UPDATE, DELETE and TRUNCATE of analytics.chat_events outside the extension''s functions';
CREATE TRIGGER chat_events_append_only
  BEFORE UPDATE OR DELETE ON analytics.chat_events
  FOR EACH ROW EXECUTE FUNCTION analytics.guard_append_only();
CREATE TRIGGER chat_events_no_truncate
  BEFORE TRUNCATE ON analytics.chat_events
  FOR EACH STATEMENT EXECUTE FUNCTION analytics.guard_append_only();

/* ------------------------------------------------------------------------
 * Exact counters: one row per user and local day, maintained by the write
 * path in the event's transaction.  Updated HOT (no indexed column changes,
 * fillfactor leaves room on the page).
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.usage_counters (
  user_id             text NOT NULL,
  usage_date          date NOT NULL,
  requests            bigint NOT NULL DEFAULT 0,
  failed              bigint NOT NULL DEFAULT 0,
  input_tokens        bigint NOT NULL DEFAULT 0,
  cached_input_tokens bigint NOT NULL DEFAULT 0,
  cache_write_tokens  bigint NOT NULL DEFAULT 0,
  output_tokens       bigint NOT NULL DEFAULT 0,
  reasoning_tokens    bigint NOT NULL DEFAULT 0,
  cache_hits          bigint NOT NULL DEFAULT 0,
  cost                numeric NOT NULL DEFAULT 0,
  cache_savings       numeric NOT NULL DEFAULT 0,
  response_time_sum   bigint NOT NULL DEFAULT 0,
  response_time_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, usage_date)
) WITH (fillfactor = 50);
COMMENT ON TABLE analytics.usage_counters IS
  'Exact per-user, per-local-day counters of recorded requests (completed and failed), kept in the event''s transaction';

/* ------------------------------------------------------------------------
 * Write path (C)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION analytics.record_chat_event(
    user_id                text,
    model                  text,
    provider               text        DEFAULT NULL,
    input_tokens           bigint      DEFAULT 0,
    cached_input_tokens    bigint      DEFAULT 0,
    cache_write_tokens     bigint      DEFAULT 0,
    output_tokens          bigint      DEFAULT 0,
    reasoning_tokens       bigint      DEFAULT 0,
    cost                   numeric     DEFAULT NULL,
    response_time_ms       bigint      DEFAULT NULL,
    time_to_first_token_ms bigint      DEFAULT NULL,
    status                 text        DEFAULT 'completed',
    error_code             text        DEFAULT NULL,
    error_message          text        DEFAULT NULL,
    request_id             text        DEFAULT NULL,
    occurred_at            timestamptz DEFAULT NULL,
    org_id                 text        DEFAULT NULL,
    conversation_id        text        DEFAULT NULL,
    message_id             text        DEFAULT NULL,
    document_id            text        DEFAULT NULL,
    session_id             text        DEFAULT NULL,
    request_type           text        DEFAULT NULL,
    category               text        DEFAULT NULL,
    query_intent           text        DEFAULT NULL,
    cache_hit              boolean     DEFAULT NULL,
    sections_referenced    text[]      DEFAULT NULL,
    intermediate_steps     bigint      DEFAULT NULL,
    metadata               jsonb       DEFAULT NULL)
  RETURNS bigint
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_record_chat_event';
COMMENT ON FUNCTION analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb) IS
  'Records a finished LLM request (completed or failed): validates, prices, logs and counts it in one step; idempotent on (user_id, request_id); returns the event id';

-- The argument names of record_chat_event, in order: one list for the batch
-- function's key check.
CREATE FUNCTION analytics.record_chat_event_keys() RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT pg_catalog.array_agg(a.n ORDER BY a.i)
      FROM pg_catalog.unnest(
             (SELECT p.proargnames FROM pg_catalog.pg_proc p
               WHERE p.oid = 'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb)'::pg_catalog.regprocedure))
           WITH ORDINALITY AS a(n, i)
  $$;
COMMENT ON FUNCTION analytics.record_chat_event_keys() IS
  'Argument names of record_chat_event, accepted as keys by record_chat_events';

CREATE FUNCTION analytics.record_chat_events(events jsonb) RETURNS SETOF bigint
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
      response_time_ms       => (e->>'response_time_ms')::bigint,
      time_to_first_token_ms => (e->>'time_to_first_token_ms')::bigint,
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
COMMENT ON FUNCTION analytics.record_chat_events(jsonb) IS
  'Records a JSON array of events (keys = record_chat_event argument names) in one transaction; returns their ids in order';

CREATE FUNCTION analytics.raise_bad_key(i integer, k text, expected text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE
  AS $$
BEGIN
  RAISE EXCEPTION 'event % key "%" must be %', i, k, expected USING ERRCODE = '22023';
END
$$;
COMMENT ON FUNCTION analytics.raise_bad_key(integer, text, text) IS
  'Raises the batch error for a key of the wrong JSON type (internal to record_chat_events)';

/* Provider usage objects onto the ledger.  Ledger buckets are disjoint:
 * total = input + cached_input + cache_write + output. */

CREATE FUNCTION analytics.openai_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
    -- Chat Completions: prompt_tokens / completion_tokens (+ *_details);
    -- Responses API: input_tokens / output_tokens (+ *_details).
    -- prompt_tokens includes the cached tokens; completion includes reasoning.
    SELECT (u.prompt - u.cached), u.cached, 0::bigint, u.completion, u.reasoning
      FROM (SELECT COALESCE((usage->>'prompt_tokens')::bigint, (usage->>'input_tokens')::bigint, 0) AS prompt,
                   COALESCE((usage #>> '{prompt_tokens_details,cached_tokens}')::bigint,
                            (usage #>> '{input_tokens_details,cached_tokens}')::bigint, 0) AS cached,
                   COALESCE((usage->>'completion_tokens')::bigint, (usage->>'output_tokens')::bigint, 0) AS completion,
                   COALESCE((usage #>> '{completion_tokens_details,reasoning_tokens}')::bigint,
                            (usage #>> '{output_tokens_details,reasoning_tokens}')::bigint, 0) AS reasoning) u
  $$;
COMMENT ON FUNCTION analytics.openai_usage(jsonb) IS
  'Maps an OpenAI usage object (Chat Completions or Responses API) onto the token ledger: prompt tokens include cached ones';

CREATE FUNCTION analytics.anthropic_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
    -- Anthropic's input_tokens already exclude cache reads and writes.
    SELECT COALESCE((usage->>'input_tokens')::bigint, 0),
           COALESCE((usage->>'cache_read_input_tokens')::bigint, 0),
           COALESCE((usage->>'cache_creation_input_tokens')::bigint, 0),
           COALESCE((usage->>'output_tokens')::bigint, 0),
           0::bigint
  $$;
COMMENT ON FUNCTION analytics.anthropic_usage(jsonb) IS
  'Maps an Anthropic usage object onto the token ledger: input_tokens exclude cache reads and writes';

/* ------------------------------------------------------------------------
 * Quota
 * ------------------------------------------------------------------------ */

-- Everything check_quota needs in one read of the counters: plan, local
-- periods, and the used amounts (at most 31 counter rows).
CREATE FUNCTION analytics.usage_snapshot(p_user_id text, p_at timestamptz,
    OUT plan_id text, OUT plan_found boolean, OUT month_start date,
    OUT day_resets_at timestamptz, OUT month_resets_at timestamptz,
    OUT day_requests bigint, OUT month_requests bigint,
    OUT month_tokens bigint, OUT month_cost numeric,
    OUT daily_request_limit bigint, OUT monthly_request_limit bigint,
    OUT monthly_token_limit bigint, OUT monthly_cost_limit numeric,
    OUT max_tokens_per_request bigint, OUT enforcement text,
    OUT warn_thresholds numeric[])
  RETURNS record
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    WITH d AS (
      SELECT s.plan_id, s.time_zone,
             (p_at AT TIME ZONE s.time_zone)::date AS today,
             pg_catalog.date_trunc('month', (p_at AT TIME ZONE s.time_zone))::date AS month_start
        FROM analytics.subject_at(p_user_id, p_at) s)
    SELECT d.plan_id, p.plan_id IS NOT NULL, d.month_start,
           ((d.today + 1)::timestamp AT TIME ZONE d.time_zone),
           ((d.month_start::timestamp + interval '1 month') AT TIME ZONE d.time_zone),
           c.day_requests, c.month_requests, c.month_tokens, c.month_cost,
           p.daily_request_limit, p.monthly_request_limit, p.monthly_token_limit,
           p.monthly_cost_limit, p.max_tokens_per_request, p.enforcement, p.warn_thresholds
      FROM d
      LEFT JOIN analytics.plans p ON p.plan_id = d.plan_id
      CROSS JOIN LATERAL (
        SELECT COALESCE(sum(u.requests) FILTER (WHERE u.usage_date = d.today), 0)::bigint AS day_requests,
               COALESCE(sum(u.requests), 0)::bigint AS month_requests,
               COALESCE(sum(u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens), 0)::bigint AS month_tokens,
               COALESCE(sum(u.cost), 0) AS month_cost
          FROM analytics.usage_counters u
         WHERE u.user_id = p_user_id
           AND u.usage_date >= d.month_start
           AND u.usage_date < (d.month_start::timestamp + interval '1 month')::date) c
  $$;
COMMENT ON FUNCTION analytics.usage_snapshot(text, timestamptz) IS
  'Plan, local periods and used amounts of a user at a time, from the counters (internal to check_quota)';

CREATE FUNCTION analytics.check_quota(user_id text, tokens bigint DEFAULT 0,
    OUT allowed boolean, OUT status text, OUT limit_name text,
    OUT used numeric, OUT limit_value numeric, OUT remaining numeric,
    OUT usage_percent numeric, OUT resets_at timestamptz,
    OUT plan_id text, OUT month_start date)
  RETURNS record
  LANGUAGE C STABLE CALLED ON NULL INPUT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_check_quota';
COMMENT ON FUNCTION analytics.check_quota(text, bigint) IS
  'May this user make a request of this many tokens now? Answers from the counters; read-only. End users may ask only about themselves';

/* ------------------------------------------------------------------------
 * Partitions
 * ------------------------------------------------------------------------ */

CREATE FUNCTION analytics.ensure_partitions(months_ahead integer DEFAULT 2)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  m          date;
  part       text;
  created    integer := 0;
  moved      boolean;
BEGIN
  IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
    RAISE EXCEPTION 'months_ahead must be between 0 and 120' USING ERRCODE = '22023';
  END IF;
  -- Months are UTC months of occurred_at: the current one, months_ahead
  -- more, and every month with rows waiting in the default partition.
  FOR m IN
    SELECT g::date FROM generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                        date_trunc('month', now() AT TIME ZONE 'UTC')
                                          + make_interval(months => months_ahead),
                                        interval '1 month') AS g
    UNION
    SELECT DISTINCT date_trunc('month', d.occurred_at AT TIME ZONE 'UTC')::date
      FROM analytics.chat_events_default d
    ORDER BY 1
  LOOP
    part := 'chat_events_' || to_char(m, 'YYYYMM');
    IF to_regclass('analytics.' || quote_ident(part)) IS NULL THEN
      LOCK TABLE analytics.chat_events IN ACCESS EXCLUSIVE MODE;
      SELECT EXISTS (SELECT 1 FROM analytics.chat_events_default d
                      WHERE d.occurred_at >= (m::timestamp AT TIME ZONE 'UTC')
                        AND d.occurred_at < ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'))
        INTO moved;
      IF moved THEN
        -- Detach the default partition so the new one can be created, move
        -- the month's rows, then attach the default back.
        ALTER TABLE analytics.chat_events DETACH PARTITION analytics.chat_events_default;
      END IF;
      EXECUTE format('CREATE TABLE analytics.%I PARTITION OF analytics.chat_events
                        FOR VALUES FROM (%L) TO (%L)',
                     part, m::timestamp AT TIME ZONE 'UTC',
                     (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
      IF moved THEN
        EXECUTE format('WITH gone AS (DELETE FROM analytics.chat_events_default d
                                       WHERE d.occurred_at >= %L AND d.occurred_at < %L
                                       RETURNING d.*)
                        INSERT INTO analytics.%I SELECT * FROM gone',
                       m::timestamp AT TIME ZONE 'UTC',
                       (m + interval '1 month')::timestamp AT TIME ZONE 'UTC', part);
        ALTER TABLE analytics.chat_events ATTACH PARTITION analytics.chat_events_default DEFAULT;
      END IF;
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END
$$;
COMMENT ON FUNCTION analytics.ensure_partitions(integer) IS
  'Creates the monthly partitions of chat_events from the current UTC month to months_ahead months ahead (and for any month waiting in the default partition); returns how many it created';

/* ------------------------------------------------------------------------
 * Views for apps and dashboards (security_invoker: RLS of the caller applies)
 * ------------------------------------------------------------------------ */

CREATE VIEW analytics.user_daily_usage WITH (security_invoker = true) AS
SELECT c.user_id,
       c.usage_date AS date,
       c.requests AS message_count,
       c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens AS tokens_total,
       c.input_tokens,
       c.cached_input_tokens AS tokens_cached,
       c.cache_write_tokens,
       c.output_tokens,
       c.reasoning_tokens,
       c.cache_hits AS cache_hit_count,
       c.cost AS cost_total,
       c.cache_savings AS cost_saved_by_cache,
       CASE WHEN c.response_time_count > 0
            THEN pg_catalog.round(c.response_time_sum::numeric / c.response_time_count)::integer
       END AS avg_response_time_ms,
       NULL::integer AS median_response_time_ms,
       NULL::integer AS p95_response_time_ms,
       c.failed AS error_count,
       NULL::numeric AS avg_feedback_rating,
       NULL::bigint AS feedback_count
  FROM analytics.usage_counters c;
COMMENT ON VIEW analytics.user_daily_usage IS
  'Per-user usage of each local day, exact, from the counters (latency percentiles and feedback: see the rollups)';

CREATE VIEW analytics.user_monthly_usage WITH (security_invoker = true) AS
SELECT m.user_id,
       m.month,
       EXTRACT(year FROM m.month)::integer AS year,
       EXTRACT(month FROM m.month)::integer AS month_number,
       pg_catalog.to_char(m.month, 'YYYY-MM') AS year_month,
       m.message_count, m.active_days, m.tokens_total, m.input_tokens,
       m.tokens_cached, m.cache_write_tokens, m.output_tokens, m.reasoning_tokens,
       m.cache_hit_count,
       pg_catalog.round(100.0 * m.tokens_cached / NULLIF(m.tokens_total, 0), 2) AS cache_hit_rate,
       m.cost_total, m.cost_saved_by_cache,
       CASE WHEN m.rt_count > 0 THEN pg_catalog.round(m.rt_sum::numeric / m.rt_count)::integer END
         AS avg_response_time_ms,
       m.error_count,
       pg_catalog.round(100.0 * m.error_count / NULLIF(m.message_count, 0), 2) AS error_rate,
       NULL::numeric AS avg_feedback_rating,
       NULL::bigint AS feedback_count
  FROM (SELECT c.user_id,
               pg_catalog.date_trunc('month', c.usage_date::timestamp)::date AS month,
               sum(c.requests)::bigint AS message_count,
               count(*) FILTER (WHERE c.requests > 0)::integer AS active_days,
               sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS tokens_total,
               sum(c.input_tokens)::bigint AS input_tokens,
               sum(c.cached_input_tokens)::bigint AS tokens_cached,
               sum(c.cache_write_tokens)::bigint AS cache_write_tokens,
               sum(c.output_tokens)::bigint AS output_tokens,
               sum(c.reasoning_tokens)::bigint AS reasoning_tokens,
               sum(c.cache_hits)::bigint AS cache_hit_count,
               sum(c.cost) AS cost_total,
               sum(c.cache_savings) AS cost_saved_by_cache,
               sum(c.response_time_sum)::bigint AS rt_sum,
               sum(c.response_time_count)::bigint AS rt_count,
               sum(c.failed)::bigint AS error_count
          FROM analytics.usage_counters c
         GROUP BY c.user_id, pg_catalog.date_trunc('month', c.usage_date::timestamp)::date) m;
COMMENT ON VIEW analytics.user_monthly_usage IS
  'Per-user usage of each local month: the sum of at most 31 day counters';

CREATE VIEW analytics.v_user_current_month WITH (security_invoker = true) AS
SELECT m.user_id, q.plan_id, m.month, m.message_count, m.tokens_total, m.cost_total,
       m.error_count, q.status, q.limit_name, q.used, q.limit_value, q.remaining,
       q.usage_percent, q.allowed AS can_make_request, q.resets_at
  FROM analytics.user_monthly_usage m
  CROSS JOIN LATERAL analytics.check_quota(m.user_id, 0) q
 WHERE m.month >= (pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC') - interval '1 month')::date
   AND m.month = q.month_start;
COMMENT ON VIEW analytics.v_user_current_month IS
  'Each user''s current local month with the check_quota answer: usage percent of the binding limit, remaining, status';

/* ------------------------------------------------------------------------
 * Row-level security.  End users read their own rows; app backends and
 * admins read all rows (org admins: their organization's events).  No
 * write policies: nobody but the extension's functions writes.
 * ------------------------------------------------------------------------ */

ALTER TABLE analytics.chat_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY chat_events_read ON analytics.chat_events FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}')));

ALTER TABLE analytics.usage_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_counters_read ON analytics.usage_counters FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));

ALTER TABLE analytics.subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY subscriptions_read ON analytics.subscriptions FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));

-- Internal tables: RLS on and no policy at all.
ALTER TABLE analytics.request_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics.role_bindings ENABLE ROW LEVEL SECURITY;

/* ------------------------------------------------------------------------
 * Access: one list of privileges per kind of role, applied by the helpers.
 * ------------------------------------------------------------------------ */

CREATE FUNCTION analytics.access_privileges(kind text,
    OUT object_type text, OUT object_name text, OUT privilege text)
  RETURNS SETOF record
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT v.object_type, v.object_name, v.privilege
      FROM (VALUES
        -- every kind
        ('*', 'SCHEMA',   'analytics',                                  'USAGE'),
        ('*', 'FUNCTION', 'analytics.current_user_id()',                'EXECUTE'),
        ('*', 'FUNCTION', 'analytics.sees_all_rows()',                  'EXECUTE'),
        ('*', 'FUNCTION', 'analytics.role_has_kind(name, text[])',      'EXECUTE'),
        ('*', 'FUNCTION', 'analytics.admin_org_ids()',                  'EXECUTE'),
        ('*', 'FUNCTION', 'analytics.role_admin_orgs(name)',            'EXECUTE'),
        ('*', 'FUNCTION', 'analytics.check_quota(text, bigint)',        'EXECUTE'),
        ('*', 'FUNCTION', 'analytics.openai_usage(jsonb)',              'EXECUTE'),
        ('*', 'FUNCTION', 'analytics.anthropic_usage(jsonb)',           'EXECUTE'),
        ('*', 'TABLE',    'analytics.chat_events',                      'SELECT'),
        ('*', 'TABLE',    'analytics.usage_counters',                   'SELECT'),
        ('*', 'TABLE',    'analytics.subscriptions',                    'SELECT'),
        ('*', 'TABLE',    'analytics.plans',                            'SELECT'),
        ('*', 'TABLE',    'analytics.model_prices',                     'SELECT'),
        ('*', 'TABLE',    'analytics.user_daily_usage',                 'SELECT'),
        ('*', 'TABLE',    'analytics.user_monthly_usage',               'SELECT'),
        ('*', 'TABLE',    'analytics.v_user_current_month',             'SELECT'),
        -- the application's backend
        ('app_backend', 'FUNCTION', 'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb)', 'EXECUTE'),
        ('app_backend', 'FUNCTION', 'analytics.record_chat_events(jsonb)',                   'EXECUTE'),
        ('app_backend', 'FUNCTION', 'analytics.subscribe(text, text, timestamptz, text)',  'EXECUTE'),
        ('app_backend', 'PARAMETER', 'usage_analytics.user_id',                            'SET'),
        -- administrators
        ('admin', 'FUNCTION', 'analytics.subscribe(text, text, timestamptz, text)',        'EXECUTE'),
        ('admin', 'FUNCTION', 'analytics.ensure_partitions(integer)',                      'EXECUTE'),
        ('admin', 'TABLE',    'analytics.plans',                                           'INSERT, UPDATE, DELETE'),
        ('admin', 'TABLE',    'analytics.model_prices',                                    'INSERT, UPDATE, DELETE')
      ) AS v(k, object_type, object_name, privilege)
     WHERE v.k = '*' OR v.k = kind
  $$;
COMMENT ON FUNCTION analytics.access_privileges(text) IS
  'The privileges each kind of role (app_backend, end_user, admin) receives from the grant helpers';

CREATE FUNCTION analytics.apply_access(role_name name, kind text, org_id text, do_grant boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p record;
BEGIN
  IF role_name IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = role_name) THEN
    RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = '42704';
  END IF;
  IF kind <> 'admin' AND org_id IS NOT NULL THEN
    RAISE EXCEPTION 'only admin access can be scoped to an organization' USING ERRCODE = '22023';
  END IF;
  FOR p IN SELECT * FROM analytics.access_privileges(kind) LOOP
    CONTINUE WHEN p.object_type = 'PARAMETER' AND current_setting('server_version_num')::int < 150000;
    EXECUTE format(CASE WHEN do_grant THEN 'GRANT %s ON %s %s TO %I' ELSE 'REVOKE %s ON %s %s FROM %I' END,
                   p.privilege, p.object_type, p.object_name, role_name);
  END LOOP;
  IF do_grant THEN
    INSERT INTO analytics.role_bindings AS b (role_name, kind, org_id)
    VALUES (apply_access.role_name, apply_access.kind, apply_access.org_id)
    ON CONFLICT ON CONSTRAINT role_bindings_pkey DO UPDATE SET org_id = EXCLUDED.org_id, granted_at = now();
  ELSE
    DELETE FROM analytics.role_bindings b WHERE b.role_name = apply_access.role_name AND b.kind = apply_access.kind;
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.apply_access(name, text, text, boolean) IS
  'Grants or revokes the privileges of a kind of role and records the binding (internal to the grant helpers)';

CREATE FUNCTION analytics.grant_app_backend(role_name name) RETURNS void
  LANGUAGE sql VOLATILE
  AS $$ SELECT analytics.apply_access(role_name, 'app_backend', NULL, true) $$;
COMMENT ON FUNCTION analytics.grant_app_backend(name) IS
  'Lets a role record events, subscribe users, set usage_analytics.user_id and read all rows (the application''s backend)';

CREATE FUNCTION analytics.grant_end_user(role_name name) RETURNS void
  LANGUAGE sql VOLATILE
  AS $$ SELECT analytics.apply_access(role_name, 'end_user', NULL, true) $$;
COMMENT ON FUNCTION analytics.grant_end_user(name) IS
  'Lets a role read its own user''s rows (identity from analytics.current_user_id()) and check its own quota';

CREATE FUNCTION analytics.grant_admin(role_name name, org_id text DEFAULT NULL) RETURNS void
  LANGUAGE sql VOLATILE
  AS $$ SELECT analytics.apply_access(role_name, 'admin', org_id, true) $$;
COMMENT ON FUNCTION analytics.grant_admin(name, text) IS
  'Lets a role read every row and manage plans and prices; with org_id, read that organization''s events only';

CREATE FUNCTION analytics.revoke_access(role_name name, kind text) RETURNS void
  LANGUAGE sql VOLATILE
  AS $$ SELECT analytics.apply_access(role_name, kind, NULL, false) $$;
COMMENT ON FUNCTION analytics.revoke_access(name, text) IS
  'Takes back what grant_app_backend, grant_end_user or grant_admin gave a role';

/* Nothing is executable by PUBLIC: access goes through the helpers. */
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA analytics FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA analytics FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA analytics FROM PUBLIC;

/* ------------------------------------------------------------------------
 * Example data (builtin rows are not dumped; edit or add your own)
 * ------------------------------------------------------------------------ */

INSERT INTO analytics.plans (plan_id, name, daily_request_limit, monthly_request_limit,
    monthly_token_limit, monthly_cost_limit, max_tokens_per_request, enforcement,
    features, price_per_month, included_units, overage_unit_price, builtin) VALUES
  ('free', 'Free', 50, 1000, 1000000, 5, 16000, 'hard',
   '{"models": ["gpt-4o-mini", "gemini-2.0-flash"]}', 0, NULL, NULL, true),
  ('pro', 'Pro', 1000, 20000, 50000000, 200, 128000, 'hard',
   '{"models": "all", "priority": true}', 20, 20000, 0.002, true),
  ('enterprise', 'Enterprise', NULL, NULL, NULL, NULL, NULL, 'soft',
   '{"models": "all", "priority": true, "sso": true}', 500, 1000000, 0.001, true);

-- Public list prices in USD per million tokens, for illustration: check
-- your providers' current prices.  OpenAI bills cache writes as input.
INSERT INTO analytics.model_prices (provider, model, effective_from, input_per_mtok,
    cached_input_per_mtok, cache_write_per_mtok, output_per_mtok, builtin) VALUES
  ('openai',    'gpt-4o',            '2024-01-01', 2.50, 1.25,  2.50, 10.00, true),
  ('openai',    'gpt-4o-mini',       '2024-01-01', 0.15, 0.075, 0.15,  0.60, true),
  ('openai',    'gpt-4.1',           '2024-01-01', 2.00, 0.50,  2.00,  8.00, true),
  ('anthropic', 'claude-sonnet-4',   '2024-01-01', 3.00, 0.30,  3.75, 15.00, true),
  ('anthropic', 'claude-3-5-haiku',  '2024-01-01', 0.80, 0.08,  1.00,  4.00, true),
  ('google',    'gemini-2.0-flash',  '2024-01-01', 0.10, 0.025, 0.10,  0.40, true);

/* pg_dump keeps user data of extension tables. */
SELECT pg_catalog.pg_extension_config_dump('analytics.model_prices', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('analytics.plans', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('analytics.subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.subscriptions_subscription_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.role_bindings', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.request_keys', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.usage_counters', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.chat_events_default', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.chat_events_id_seq', '');

-- Partitions for the current and next month.
SELECT analytics.ensure_partitions(1);
