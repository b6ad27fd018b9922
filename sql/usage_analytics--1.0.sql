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

-- The kinds of access role r holds, directly or through membership, with
-- their organization (NULL: all rows).  Superusers hold every kind.  The
-- one definition of access; SETOF so that callers' statements inline it.
-- Reads role_bindings: callable by the owner only; see role_has_kind.
CREATE FUNCTION analytics.role_kinds(r name)
  RETURNS TABLE (kind text, org_id text)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT b.kind, b.org_id
      FROM analytics.role_bindings b
     WHERE pg_catalog.pg_has_role(r, b.role_name, 'USAGE')
    UNION ALL
    SELECT k.kind, NULL
      FROM pg_catalog.pg_roles a,
           pg_catalog.unnest('{app_backend,end_user,admin}'::text[]) AS k(kind)
     WHERE a.rolname OPERATOR(pg_catalog.=) r AND a.rolsuper;
  END;
COMMENT ON FUNCTION analytics.role_kinds(name) IS
  'The kinds of access (app_backend, end_user, admin) a role holds, with the organization of org-scoped admin bindings';

-- Does role r hold one of the kinds for all rows?
CREATE FUNCTION analytics.role_has_kind(r name, kinds text[]) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT EXISTS (SELECT 1 FROM analytics.role_kinds(r) k
                    WHERE k.kind OPERATOR(pg_catalog.=) ANY (kinds) AND k.org_id IS NULL)
  $$;
COMMENT ON FUNCTION analytics.role_has_kind(name, text[]) IS
  'True when role r is a superuser or a member of a role bound to one of kinds (all-rows bindings only)';

-- Row visibility for RLS: the caller reads every row.
CREATE FUNCTION analytics.sees_all_rows() RETURNS boolean
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT analytics.role_has_kind(CURRENT_USER, '{admin,app_backend}');
  END;
COMMENT ON FUNCTION analytics.sees_all_rows() IS
  'True for superusers, app-backend roles and all-rows admins: RLS lets them read every user''s rows';

-- Organizations whose rows role r administers (org-scoped admin bindings).
CREATE FUNCTION analytics.role_admin_orgs(r name) RETURNS text[]
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT COALESCE(pg_catalog.array_agg(DISTINCT k.org_id), '{}')
      FROM analytics.role_kinds(r) k
     WHERE k.kind OPERATOR(pg_catalog.=) 'admin' AND k.org_id IS NOT NULL
  $$;
COMMENT ON FUNCTION analytics.role_admin_orgs(name) IS
  'Organizations role r administers through org-scoped admin bindings';

-- The caller's organizations.  The role is passed in: inside a SECURITY
-- DEFINER function CURRENT_USER would be the owner.
CREATE FUNCTION analytics.admin_org_ids() RETURNS text[]
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT analytics.role_admin_orgs(CURRENT_USER);
  END;
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
  BEGIN ATOMIC
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
     LIMIT 2;
  END;
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
-- without a subscription): one row.  Declared SETOF so that the planner
-- inlines it into the statements that use it (write path, quota).
CREATE FUNCTION analytics.subject_at(p_user_id text, p_at timestamptz,
    OUT plan_id text, OUT time_zone text)
  RETURNS SETOF record
  ROWS 1
  LANGUAGE sql STABLE PARALLEL SAFE
  BEGIN ATOMIC
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
         LIMIT 1) s ON true;
  END;
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
  recorded_xid            bigint NOT NULL,
  reserved_tokens         integer CHECK (reserved_tokens BETWEEN 0 AND 400000000),
  reserved_cost           numeric CHECK (reserved_cost >= 0 AND reserved_cost <= 1000000),
  settled_at              timestamptz
) PARTITION BY RANGE (occurred_at);
ALTER SEQUENCE analytics.chat_events_id_seq OWNED BY analytics.chat_events.id;

-- Keys and indexes belong to each partition, not to the parent: a parent
-- index would be an extension member, which a restore creates before the
-- dumped partitions are attached, and pg_dump would then create every
-- partition's index a second time.  This makes them, for every partition.
CREATE FUNCTION analytics.index_partition(part regclass) RETURNS void
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
END
$$;
COMMENT ON FUNCTION analytics.index_partition(regclass) IS
  'Creates the primary key and indexes of a partition of chat_events (internal)';
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
COMMENT ON COLUMN analytics.chat_events.reserved_tokens IS
  'Tokens reserved by start_request until the request is settled or expires';
COMMENT ON COLUMN analytics.chat_events.recorded_xid IS
  'Full id of the recording (or settling) transaction: analytics.fold() folds events below its watermark, each exactly once';

-- Catch-all partition: an event for a month without a partition is never lost;
-- analytics.ensure_partitions() moves such rows into their month.
CREATE TABLE analytics.chat_events_default PARTITION OF analytics.chat_events DEFAULT;
SELECT analytics.index_partition('analytics.chat_events_default');

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
 * Exact counters per user and local day, maintained by the write path in
 * the event's transaction, split into slots: each backend adds to the slot
 * of its own backend number, so two running transactions never update the
 * same counter row.  No writer waits for another's commit (one busy user
 * scales like many), and a transaction recording events for several users
 * in any order cannot deadlock.  Readers sum the slots.  Updated HOT (no
 * indexed column changes, fillfactor leaves room on the page).
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.usage_counters (
  user_id             text NOT NULL,
  usage_date          date NOT NULL,
  slot                smallint NOT NULL DEFAULT 0,
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
  pending_requests    bigint NOT NULL DEFAULT 0,
  pending_tokens      bigint NOT NULL DEFAULT 0,
  pending_cost        numeric NOT NULL DEFAULT 0,
  rejected            bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, usage_date, slot)
) WITH (fillfactor = 50);
COMMENT ON TABLE analytics.usage_counters IS
  'Exact per-user, per-local-day counters of recorded requests (completed and failed), kept in the event''s transaction; sum the slots';

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
  BEGIN ATOMIC
    SELECT pg_catalog.array_agg(a.n ORDER BY a.i)
      FROM pg_catalog.unnest(
             (SELECT p.proargnames FROM pg_catalog.pg_proc p
               WHERE p.oid = 'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb)'::pg_catalog.regprocedure))
           WITH ORDINALITY AS a(n, i);
  END;
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
  SET search_path = pg_catalog, pg_temp
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
  BEGIN ATOMIC
    -- Chat Completions: prompt_tokens / completion_tokens (+ *_details);
    -- Responses API: input_tokens / output_tokens (+ *_details).
    -- prompt_tokens includes the cached tokens; completion includes reasoning.
    SELECT (u.prompt - u.cached), u.cached, 0::bigint, u.completion, u.reasoning
      FROM (SELECT COALESCE((usage->>'prompt_tokens')::bigint, (usage->>'input_tokens')::bigint, 0) AS prompt,
                   COALESCE((usage #>> '{prompt_tokens_details,cached_tokens}')::bigint,
                            (usage #>> '{input_tokens_details,cached_tokens}')::bigint, 0) AS cached,
                   COALESCE((usage->>'completion_tokens')::bigint, (usage->>'output_tokens')::bigint, 0) AS completion,
                   COALESCE((usage #>> '{completion_tokens_details,reasoning_tokens}')::bigint,
                            (usage #>> '{output_tokens_details,reasoning_tokens}')::bigint, 0) AS reasoning) u;
  END;
COMMENT ON FUNCTION analytics.openai_usage(jsonb) IS
  'Maps an OpenAI usage object (Chat Completions or Responses API) onto the token ledger: prompt tokens include cached ones';

CREATE FUNCTION analytics.anthropic_usage(usage jsonb,
    OUT input_tokens bigint, OUT cached_input_tokens bigint, OUT cache_write_tokens bigint,
    OUT output_tokens bigint, OUT reasoning_tokens bigint)
  RETURNS record
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  BEGIN ATOMIC
    -- Anthropic's input_tokens already exclude cache reads and writes.
    SELECT COALESCE((usage->>'input_tokens')::bigint, 0),
           COALESCE((usage->>'cache_read_input_tokens')::bigint, 0),
           COALESCE((usage->>'cache_creation_input_tokens')::bigint, 0),
           COALESCE((usage->>'output_tokens')::bigint, 0),
           0::bigint;
  END;
COMMENT ON FUNCTION analytics.anthropic_usage(jsonb) IS
  'Maps an Anthropic usage object onto the token ledger: input_tokens exclude cache reads and writes';

/* ------------------------------------------------------------------------
 * Quota
 * ------------------------------------------------------------------------ */

-- Everything check_quota needs in one read of the counters: plan, local
-- periods, and the used amounts (the day rows of one month), reservations
-- of requests in flight included.  One row;
-- SETOF so that it is inlined into check_quota's prepared statement.
CREATE FUNCTION analytics.usage_snapshot(p_user_id text, p_at timestamptz,
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
  LANGUAGE sql STABLE PARALLEL SAFE
  BEGIN ATOMIC
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
         WHERE u.user_id = p_user_id
           AND u.usage_date >= d.month_start
           AND u.usage_date < (d.month_start::timestamp + interval '1 month')::date) c;
  END;
COMMENT ON FUNCTION analytics.usage_snapshot(text, timestamptz) IS
  'Plan, local periods and used amounts of a user at a time, from the counters (internal to check_quota, admission and the threshold check)';

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
 * Admission: start_request / complete_request (C), reservation expiry,
 * threshold notifications
 * ------------------------------------------------------------------------ */

CREATE FUNCTION analytics.start_request(
    user_id          text,
    model            text,
    estimated_tokens bigint  DEFAULT 0,
    request_id       text    DEFAULT NULL,
    provider         text    DEFAULT NULL,
    estimated_cost   numeric DEFAULT NULL,
    org_id           text    DEFAULT NULL,
    conversation_id  text    DEFAULT NULL,
    message_id       text    DEFAULT NULL,
    document_id      text    DEFAULT NULL,
    session_id       text    DEFAULT NULL,
    request_type     text    DEFAULT NULL,
    category         text    DEFAULT NULL,
    query_intent     text    DEFAULT NULL,
    metadata         jsonb   DEFAULT NULL,
    OUT event_id bigint, OUT allowed boolean, OUT status text, OUT limit_name text,
    OUT remaining numeric, OUT resets_at timestamptz)
  RETURNS record
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_start_request';
COMMENT ON FUNCTION analytics.start_request(text, text, bigint, text, text, numeric, text, text, text, text, text, text, text, text, jsonb) IS
  'Admits a request and reserves its estimate against the user''s hard limits (exact under any concurrency), or rejects it; logs it as pending or rejected; idempotent on (user_id, request_id)';

CREATE FUNCTION analytics.complete_request(
    event_id               bigint  DEFAULT NULL,
    status                 text    DEFAULT 'completed',
    input_tokens           bigint  DEFAULT 0,
    cached_input_tokens    bigint  DEFAULT 0,
    cache_write_tokens     bigint  DEFAULT 0,
    output_tokens          bigint  DEFAULT 0,
    reasoning_tokens       bigint  DEFAULT 0,
    cost                   numeric DEFAULT NULL,
    response_time_ms       bigint  DEFAULT NULL,
    time_to_first_token_ms bigint  DEFAULT NULL,
    error_code             text    DEFAULT NULL,
    error_message          text    DEFAULT NULL,
    cache_hit              boolean DEFAULT NULL,
    user_id                text    DEFAULT NULL,
    request_id             text    DEFAULT NULL,
    OUT event_id_out bigint, OUT status_out text, OUT cost_out numeric)
  RETURNS record
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_complete_request';
COMMENT ON FUNCTION analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, boolean, text, text) IS
  'Settles a start_request reservation with the actual usage (by event_id, or user_id and request_id); settling twice returns the same answer';

CREATE FUNCTION analytics.backend_slot() RETURNS smallint
  LANGUAGE C STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'ua_backend_slot';
COMMENT ON FUNCTION analytics.backend_slot() IS
  'The usage_counters slot this backend writes (internal)';

CREATE FUNCTION analytics.expire_reservations() RETURNS bigint
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
       AND e.occurred_at < clock_timestamp() - current_setting('usage_analytics.reservation_ttl')::interval
    RETURNING e.user_id, e.usage_date, COALESCE(e.reserved_tokens, 0) AS t, COALESCE(e.reserved_cost, 0) AS c),
  released AS (
    INSERT INTO analytics.usage_counters AS u (user_id, usage_date, slot, pending_requests, pending_tokens, pending_cost)
    SELECT g.user_id, g.usage_date, analytics.backend_slot(), -count(*), -sum(g.t), -sum(g.c)
      FROM gone g GROUP BY g.user_id, g.usage_date
    ON CONFLICT (user_id, usage_date, slot) DO UPDATE SET
      pending_requests = u.pending_requests + EXCLUDED.pending_requests,
      pending_tokens = u.pending_tokens + EXCLUDED.pending_tokens,
      pending_cost = u.pending_cost + EXCLUDED.pending_cost
    RETURNING 1)
  SELECT count(*) INTO n FROM gone;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.expire_reservations() IS
  'Marks pending requests older than usage_analytics.reservation_ttl expired and releases their reservations; returns how many';

CREATE TABLE analytics.notifications (
  notification_id bigint GENERATED ALWAYS AS IDENTITY,
  user_id         text NOT NULL,
  limit_name      text NOT NULL,
  period_start    date NOT NULL,
  threshold       numeric NOT NULL,
  used            numeric NOT NULL,
  limit_value     numeric NOT NULL,
  plan_id         text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  acknowledged_at timestamptz,
  PRIMARY KEY (user_id, limit_name, period_start, threshold),
  UNIQUE (user_id, notification_id)
);
CREATE INDEX notifications_open_idx ON analytics.notifications (created_at) WHERE acknowledged_at IS NULL;
COMMENT ON TABLE analytics.notifications IS
  'Outbox of usage thresholds reached: one row per user, limit, period and threshold, written in the transaction that reached it and announced with NOTIFY usage_analytics';

CREATE FUNCTION analytics.list_notifications(p_user_id text DEFAULT NULL, include_acknowledged boolean DEFAULT false)
  RETURNS SETOF analytics.notifications
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT n.* FROM analytics.notifications n
     WHERE (p_user_id IS NULL OR n.user_id = p_user_id)
       AND (include_acknowledged OR n.acknowledged_at IS NULL)
     ORDER BY n.created_at, n.notification_id;
  END;
COMMENT ON FUNCTION analytics.list_notifications(text, boolean) IS
  'Notifications the caller may see (RLS), oldest first; unacknowledged ones unless asked';

CREATE FUNCTION analytics.acknowledge_notifications(ids bigint[]) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n integer;
BEGIN
  UPDATE analytics.notifications SET acknowledged_at = now()
   WHERE notification_id = ANY (ids) AND acknowledged_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.acknowledge_notifications(bigint[]) IS
  'Marks notifications acknowledged (app backends and admins); returns how many changed';

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
      PERFORM analytics.index_partition(('analytics.' || quote_ident(part))::regclass);
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
 * Rollups, folded incrementally by analytics.fold().
 *
 * Every event carries recorded_xid, the full id of its transaction.  The
 * fold takes h = the xmin of a fresh snapshot: every transaction below h
 * has ended, so the events with recorded_xid in [watermark, h) are final
 * and visible to the fold's later statements.  It folds exactly those and
 * moves the watermark to h in the same transaction, under a row lock on
 * fold_state: exactly once, whatever writers, long transactions and other
 * folds do.  Feedback changes the events it rates; record_feedback applies
 * its delta to the rollups when the event is already folded.
 * ------------------------------------------------------------------------ */

-- The cluster's system identifier: transaction ids mean something only in
-- the cluster that assigned them.
CREATE FUNCTION analytics.system_identifier() RETURNS bigint
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT c.system_identifier FROM pg_catalog.pg_control_system() c $$;
COMMENT ON FUNCTION analytics.system_identifier() IS
  'The system identifier of this cluster (pg_control_system), which fold_state records';

CREATE TABLE analytics.fold_state (
  singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  watermark         bigint NOT NULL DEFAULT 0,
  folded_at         timestamptz,
  events_folded     bigint NOT NULL DEFAULT 0,
  retained_from     timestamptz,
  system_identifier bigint NOT NULL DEFAULT analytics.system_identifier(),
  needs_repair      boolean NOT NULL DEFAULT false
);
INSERT INTO analytics.fold_state DEFAULT VALUES;
COMMENT ON TABLE analytics.fold_state IS
  'The fold''s progress: events with recorded_xid below watermark are in the rollups; raw events before retained_from were removed by retention';
COMMENT ON COLUMN analytics.fold_state.needs_repair IS
  'Set when a dump from another cluster was restored: its recorded_xid values are foreign, so the next fold rebuilds the rollups of the raw months and restamps the log';

-- Restoring a dump inserts the dumped row over the one CREATE EXTENSION made:
-- keep one row, with the dumped progress, and flag a restore from another
-- cluster for repair by the next fold.
CREATE FUNCTION analytics.fold_state_restore() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  UPDATE analytics.fold_state f
     SET watermark = NEW.watermark, folded_at = NEW.folded_at, events_folded = NEW.events_folded,
         retained_from = NEW.retained_from, system_identifier = analytics.system_identifier(),
         needs_repair = NEW.needs_repair OR NEW.system_identifier <> analytics.system_identifier();
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION analytics.fold_state_restore() IS
  'Trigger: a restored fold_state row replaces the installed one (internal)';
CREATE TRIGGER fold_state_restore BEFORE INSERT ON analytics.fold_state
  FOR EACH ROW EXECUTE FUNCTION analytics.fold_state_restore();

CREATE FUNCTION analytics.fold_watermark() RETURNS bigint
  LANGUAGE sql STABLE PARALLEL SAFE
  BEGIN ATOMIC
    SELECT f.watermark FROM analytics.fold_state f;
  END;
COMMENT ON FUNCTION analytics.fold_watermark() IS
  'Events with recorded_xid below this are folded into the rollups; the rest are the unfolded tail';

-- Per user and local day: latency and time-to-first-token sketches, feedback.
CREATE TABLE analytics.rollup_user_daily (
  user_id        text NOT NULL,
  usage_date     date NOT NULL,
  latency        analytics.latency_sketch,
  ttft           analytics.latency_sketch,
  feedback_sum   bigint NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, usage_date)
);
COMMENT ON TABLE analytics.rollup_user_daily IS
  'Folded per-user, per-local-day latency sketches and feedback totals';

-- The same per local month: a month's percentiles for every user read one
-- row per user.
CREATE TABLE analytics.rollup_user_monthly (
  user_id        text NOT NULL,
  month          date NOT NULL,
  latency        analytics.latency_sketch,
  ttft           analytics.latency_sketch,
  feedback_sum   bigint NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, month)
);
COMMENT ON TABLE analytics.rollup_user_monthly IS
  'Folded per-user, per-local-month latency sketches and feedback totals';

-- Per user, local day, provider and model ('' = provider unknown).
CREATE TABLE analytics.rollup_user_models (
  user_id             text NOT NULL,
  usage_date          date NOT NULL,
  provider            text NOT NULL,
  model               text NOT NULL,
  requests            bigint NOT NULL,
  failed              bigint NOT NULL,
  input_tokens        bigint NOT NULL,
  cached_input_tokens bigint NOT NULL,
  cache_write_tokens  bigint NOT NULL,
  output_tokens       bigint NOT NULL,
  reasoning_tokens    bigint NOT NULL,
  cost                numeric NOT NULL,
  latency_sum         bigint NOT NULL,
  latency_count       bigint NOT NULL,
  last_used           timestamptz NOT NULL,
  PRIMARY KEY (user_id, usage_date, provider, model)
);
COMMENT ON TABLE analytics.rollup_user_models IS
  'Folded per-user usage by local day, provider and model (provider '''' = unknown)';

-- Per document and UTC day.
CREATE TABLE analytics.rollup_documents (
  document_id    text NOT NULL,
  usage_date     date NOT NULL,
  requests       bigint NOT NULL,
  failed         bigint NOT NULL,
  tokens_total   bigint NOT NULL,
  cost           numeric NOT NULL,
  cache_hits     bigint NOT NULL,
  latency        analytics.latency_sketch,
  feedback_sum   bigint NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (document_id, usage_date)
);
COMMENT ON TABLE analytics.rollup_documents IS 'Folded per-document usage by UTC day';

-- Whole system by UTC day, provider and model.
CREATE TABLE analytics.rollup_system_models (
  usage_date          date NOT NULL,
  provider            text NOT NULL,
  model               text NOT NULL,
  requests            bigint NOT NULL,
  failed              bigint NOT NULL,
  tokens_total        bigint NOT NULL,
  cached_input_tokens bigint NOT NULL,
  cache_hits          bigint NOT NULL,
  cost                numeric NOT NULL,
  cache_savings       numeric NOT NULL,
  latency             analytics.latency_sketch,
  feedback_sum        bigint NOT NULL DEFAULT 0,
  feedback_count      bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (usage_date, provider, model)
);
COMMENT ON TABLE analytics.rollup_system_models IS 'Folded system-wide usage by UTC day, provider and model';

-- Per user, local day and category.
CREATE TABLE analytics.rollup_user_categories (
  user_id    text NOT NULL,
  usage_date date NOT NULL,
  category   text NOT NULL,
  requests   bigint NOT NULL,
  PRIMARY KEY (user_id, usage_date, category)
);
COMMENT ON TABLE analytics.rollup_user_categories IS 'Folded per-user requests by local day and category';

-- Distinct items per scope and day, for exact distinct counts, as one
-- array per scope and day sorted bytewise without duplicates:
--   user_conversation, user_document      (scope_id = user, local day)
--   document_user, document_conversation  (scope_id = document, UTC day)
--   system_user, system_conversation, system_document (scope_id = '', UTC day)
CREATE TABLE analytics.rollup_distinct (
  scope      text NOT NULL,
  scope_id   text NOT NULL,
  usage_date date NOT NULL,
  items      text[] NOT NULL,
  PRIMARY KEY (scope, scope_id, usage_date)
);
COMMENT ON TABLE analytics.rollup_distinct IS
  'Folded distinct conversations, documents and users per scope and day (items sorted COLLATE "C", no duplicates), for exact distinct counts';

CREATE FUNCTION analytics.text_set_union(a text[], b text[]) RETURNS text[]
  LANGUAGE C IMMUTABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'ua_text_set_union';
COMMENT ON FUNCTION analytics.text_set_union(text[], text[]) IS
  'Union of two arrays sorted bytewise without duplicates, by one merge (internal to the fold)';

CREATE FUNCTION analytics.text_set_final(internal) RETURNS text[]
  LANGUAGE C IMMUTABLE
  AS 'MODULE_PATHNAME', 'ua_text_set_final';
COMMENT ON FUNCTION analytics.text_set_final(internal) IS
  'Final function of text_set_agg: sorts bytewise and drops duplicates (internal)';
CREATE AGGREGATE analytics.text_set_agg(text) (
  SFUNC = pg_catalog.array_agg_transfn, STYPE = internal, FINALFUNC = analytics.text_set_final);
COMMENT ON AGGREGATE analytics.text_set_agg(text) IS
  'The group''s strings as an array sorted bytewise without duplicates (internal to the fold)';

/*
 * Fold the events with recorded_xid in [lo, hi) (and, for a rebuild, a
 * date range: local days for per-user rollups, UTC days for the others)
 * into the rollups.  Returns the number of events folded.  Internal.
 */
CREATE FUNCTION analytics.fold_range(lo bigint, hi bigint, d_from date, d_to date)
  RETURNS bigint
  LANGUAGE sql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  -- One statement: the batch is read once and feeds every rollup.
  WITH batch AS MATERIALIZED (
    SELECT e.user_id, e.usage_date, (e.occurred_at AT TIME ZONE 'UTC')::date AS utc_date,
           e.occurred_at, COALESCE(e.provider, '') AS provider, e.model, e.status,
           e.document_id, e.conversation_id, e.category, e.input_tokens, e.cached_input_tokens,
           e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
           e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens AS tokens_total,
           e.cost, e.cache_savings, e.cache_hit, e.response_time_ms, e.time_to_first_token_ms,
           e.feedback_rating
      FROM analytics.chat_events e
     WHERE e.recorded_xid >= lo AND e.recorded_xid < hi
       AND e.status IN ('completed', 'failed')
       AND (d_from IS NULL OR e.usage_date >= d_from OR (e.occurred_at AT TIME ZONE 'UTC')::date >= d_from)
       AND (d_to IS NULL OR e.usage_date <= d_to OR (e.occurred_at AT TIME ZONE 'UTC')::date <= d_to)),
  local_days AS (
    SELECT * FROM batch b
     WHERE (d_from IS NULL OR b.usage_date >= d_from) AND (d_to IS NULL OR b.usage_date <= d_to)),
  utc_days AS (
    SELECT * FROM batch b
     WHERE (d_from IS NULL OR b.utc_date >= d_from) AND (d_to IS NULL OR b.utc_date <= d_to)),
  user_daily AS (
    INSERT INTO analytics.rollup_user_daily AS r
      (user_id, usage_date, latency, ttft, feedback_sum, feedback_count)
    SELECT b.user_id, b.usage_date,
           analytics.latency_sketch_agg(b.response_time_ms),
           analytics.latency_sketch_agg(b.time_to_first_token_ms),
           COALESCE(sum(b.feedback_rating), 0), count(b.feedback_rating)
      FROM local_days b
     GROUP BY b.user_id, b.usage_date
    ON CONFLICT (user_id, usage_date) DO UPDATE SET
      latency = analytics.latency_sketch_union(r.latency, EXCLUDED.latency),
      ttft = analytics.latency_sketch_union(r.ttft, EXCLUDED.ttft),
      feedback_sum = r.feedback_sum + EXCLUDED.feedback_sum,
      feedback_count = r.feedback_count + EXCLUDED.feedback_count
    RETURNING 1),
  user_monthly AS (
    INSERT INTO analytics.rollup_user_monthly AS r
      (user_id, month, latency, ttft, feedback_sum, feedback_count)
    SELECT b.user_id, date_trunc('month', b.usage_date::timestamp)::date,
           analytics.latency_sketch_agg(b.response_time_ms),
           analytics.latency_sketch_agg(b.time_to_first_token_ms),
           COALESCE(sum(b.feedback_rating), 0), count(b.feedback_rating)
      FROM local_days b
     GROUP BY b.user_id, date_trunc('month', b.usage_date::timestamp)::date
    ON CONFLICT (user_id, month) DO UPDATE SET
      latency = analytics.latency_sketch_union(r.latency, EXCLUDED.latency),
      ttft = analytics.latency_sketch_union(r.ttft, EXCLUDED.ttft),
      feedback_sum = r.feedback_sum + EXCLUDED.feedback_sum,
      feedback_count = r.feedback_count + EXCLUDED.feedback_count
    RETURNING 1),
  user_models AS (
    INSERT INTO analytics.rollup_user_models AS r
      (user_id, usage_date, provider, model, requests, failed, input_tokens, cached_input_tokens,
       cache_write_tokens, output_tokens, reasoning_tokens, cost, latency_sum, latency_count, last_used)
    SELECT b.user_id, b.usage_date, b.provider, b.model, count(*),
           count(*) FILTER (WHERE b.status = 'failed'),
           sum(b.input_tokens), sum(b.cached_input_tokens), sum(b.cache_write_tokens),
           sum(b.output_tokens), sum(b.reasoning_tokens), sum(b.cost),
           COALESCE(sum(b.response_time_ms), 0), count(b.response_time_ms), max(b.occurred_at)
      FROM local_days b
     GROUP BY b.user_id, b.usage_date, b.provider, b.model
    ON CONFLICT (user_id, usage_date, provider, model) DO UPDATE SET
      requests = r.requests + EXCLUDED.requests,
      failed = r.failed + EXCLUDED.failed,
      input_tokens = r.input_tokens + EXCLUDED.input_tokens,
      cached_input_tokens = r.cached_input_tokens + EXCLUDED.cached_input_tokens,
      cache_write_tokens = r.cache_write_tokens + EXCLUDED.cache_write_tokens,
      output_tokens = r.output_tokens + EXCLUDED.output_tokens,
      reasoning_tokens = r.reasoning_tokens + EXCLUDED.reasoning_tokens,
      cost = r.cost + EXCLUDED.cost,
      latency_sum = r.latency_sum + EXCLUDED.latency_sum,
      latency_count = r.latency_count + EXCLUDED.latency_count,
      last_used = GREATEST(r.last_used, EXCLUDED.last_used)
    RETURNING 1),
  documents AS (
    INSERT INTO analytics.rollup_documents AS r
      (document_id, usage_date, requests, failed, tokens_total, cost, cache_hits, latency,
       feedback_sum, feedback_count)
    SELECT b.document_id, b.utc_date, count(*), count(*) FILTER (WHERE b.status = 'failed'),
           sum(b.tokens_total), sum(b.cost), count(*) FILTER (WHERE b.cache_hit),
           analytics.latency_sketch_agg(b.response_time_ms),
           COALESCE(sum(b.feedback_rating), 0), count(b.feedback_rating)
      FROM utc_days b
     WHERE b.document_id IS NOT NULL
     GROUP BY b.document_id, b.utc_date
    ON CONFLICT (document_id, usage_date) DO UPDATE SET
      requests = r.requests + EXCLUDED.requests,
      failed = r.failed + EXCLUDED.failed,
      tokens_total = r.tokens_total + EXCLUDED.tokens_total,
      cost = r.cost + EXCLUDED.cost,
      cache_hits = r.cache_hits + EXCLUDED.cache_hits,
      latency = analytics.latency_sketch_union(r.latency, EXCLUDED.latency),
      feedback_sum = r.feedback_sum + EXCLUDED.feedback_sum,
      feedback_count = r.feedback_count + EXCLUDED.feedback_count
    RETURNING 1),
  system_models AS (
    INSERT INTO analytics.rollup_system_models AS r
      (usage_date, provider, model, requests, failed, tokens_total, cached_input_tokens, cache_hits,
       cost, cache_savings, latency, feedback_sum, feedback_count)
    SELECT b.utc_date, b.provider, b.model, count(*), count(*) FILTER (WHERE b.status = 'failed'),
           sum(b.tokens_total), sum(b.cached_input_tokens), count(*) FILTER (WHERE b.cache_hit),
           sum(b.cost), COALESCE(sum(b.cache_savings), 0),
           analytics.latency_sketch_agg(b.response_time_ms),
           COALESCE(sum(b.feedback_rating), 0), count(b.feedback_rating)
      FROM utc_days b
     GROUP BY b.utc_date, b.provider, b.model
    ON CONFLICT (usage_date, provider, model) DO UPDATE SET
      requests = r.requests + EXCLUDED.requests,
      failed = r.failed + EXCLUDED.failed,
      tokens_total = r.tokens_total + EXCLUDED.tokens_total,
      cached_input_tokens = r.cached_input_tokens + EXCLUDED.cached_input_tokens,
      cache_hits = r.cache_hits + EXCLUDED.cache_hits,
      cost = r.cost + EXCLUDED.cost,
      cache_savings = r.cache_savings + EXCLUDED.cache_savings,
      latency = analytics.latency_sketch_union(r.latency, EXCLUDED.latency),
      feedback_sum = r.feedback_sum + EXCLUDED.feedback_sum,
      feedback_count = r.feedback_count + EXCLUDED.feedback_count
    RETURNING 1),
  categories AS (
    INSERT INTO analytics.rollup_user_categories AS r (user_id, usage_date, category, requests)
    SELECT b.user_id, b.usage_date, b.category, count(*)
      FROM local_days b
     WHERE b.category IS NOT NULL
     GROUP BY b.user_id, b.usage_date, b.category
    ON CONFLICT (user_id, usage_date, category) DO UPDATE SET requests = r.requests + EXCLUDED.requests
    RETURNING 1),
  distinct_items AS (
    INSERT INTO analytics.rollup_distinct AS r (scope, scope_id, usage_date, items)
    SELECT v.scope, v.scope_id, v.d, analytics.text_set_agg(v.item)
      FROM batch b,
           LATERAL (VALUES
             ('user_conversation', b.user_id, b.usage_date, b.conversation_id),
             ('user_document', b.user_id, b.usage_date, b.document_id),
             ('document_user', b.document_id, b.utc_date, b.user_id),
             ('document_conversation', b.document_id, b.utc_date, b.conversation_id),
             ('system_user', '', b.utc_date, b.user_id),
             ('system_conversation', '', b.utc_date, b.conversation_id),
             ('system_document', '', b.utc_date, b.document_id)) AS v(scope, scope_id, d, item)
     WHERE v.scope_id IS NOT NULL AND v.item IS NOT NULL
       AND (d_from IS NULL OR v.d >= d_from) AND (d_to IS NULL OR v.d <= d_to)
     GROUP BY v.scope, v.scope_id, v.d
    ON CONFLICT (scope, scope_id, usage_date) DO UPDATE SET
      items = analytics.text_set_union(r.items, EXCLUDED.items)
    RETURNING 1)
  SELECT count(*) FROM batch
  $$;
COMMENT ON FUNCTION analytics.fold_range(bigint, bigint, date, date) IS
  'Folds the finished events of a transaction-id range (and date range) into the rollups (internal)';

CREATE FUNCTION analytics.fold() RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w bigint;
  h bigint;
  n bigint;
  repair boolean;
BEGIN
  -- One fold at a time: a concurrent fold waits here, then starts from the
  -- watermark this one leaves.
  SELECT f.watermark, f.needs_repair INTO w, repair FROM analytics.fold_state f FOR UPDATE;
  IF repair THEN
    RETURN analytics.repair_after_restore();
  END IF;
  -- Every transaction below h has ended; the next statements see them all.
  h := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
  IF h <= w THEN
    RETURN 0;
  END IF;
  n := analytics.fold_range(w, h, NULL, NULL);
  UPDATE analytics.fold_state
     SET watermark = h, folded_at = now(), events_folded = events_folded + n;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.fold() IS
  'Folds the events recorded since the last fold into the rollups, exactly once; safe with concurrent writers and folds; returns how many';

/* Per-user views over counters and rollups.  Figures of not yet folded
 * events come from the unfolded tail (index on user_id, recorded_xid), so
 * every per-user figure reads its own writes. */

-- Events of a user over local days that the fold has not reached yet.
CREATE FUNCTION analytics.unfolded_events(p_user_id text, d_from date, d_to date)
  RETURNS SETOF analytics.chat_events
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT e.* FROM analytics.chat_events e
     WHERE e.user_id = p_user_id AND e.recorded_xid >= analytics.fold_watermark()
       AND e.status IN ('completed', 'failed') AND e.usage_date BETWEEN d_from AND d_to;
  END;
COMMENT ON FUNCTION analytics.unfolded_events(text, date, date) IS
  'A user''s finished events of a range of local days not yet folded (the tail that read-your-writes views add)';

-- A user's latency sketch and feedback over local days: rollups plus tail.
CREATE FUNCTION analytics.user_period_latency(p_user_id text, d_from date, d_to date)
  RETURNS TABLE (latency analytics.latency_sketch, feedback_sum bigint, feedback_count bigint)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    WITH r AS (SELECT analytics.latency_sketch_merge(x.latency) AS l, sum(x.feedback_sum) AS s,
                      sum(x.feedback_count) AS c
                 FROM analytics.rollup_user_daily x
                WHERE x.user_id = p_user_id AND x.usage_date BETWEEN d_from AND d_to),
         t AS (SELECT analytics.latency_sketch_agg(e.response_time_ms) AS l, sum(e.feedback_rating) AS s,
                      count(e.feedback_rating) AS c
                 FROM analytics.unfolded_events(p_user_id, d_from, d_to) e)
    SELECT analytics.latency_sketch_union(r.l, t.l), (COALESCE(r.s, 0) + COALESCE(t.s, 0))::bigint,
           (COALESCE(r.c, 0) + t.c)::bigint
      FROM r, t;
  END;
COMMENT ON FUNCTION analytics.user_period_latency(text, date, date) IS
  'A user''s latency sketch and feedback totals over local days: rollups plus the unfolded tail';

-- The same over local months, from the monthly rollups (one row a month).
CREATE FUNCTION analytics.user_months_latency(p_user_id text, m_from date, m_to date)
  RETURNS TABLE (latency analytics.latency_sketch, feedback_sum bigint, feedback_count bigint)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    WITH r AS (SELECT analytics.latency_sketch_merge(x.latency) AS l, sum(x.feedback_sum) AS s,
                      sum(x.feedback_count) AS c
                 FROM analytics.rollup_user_monthly x
                WHERE x.user_id = p_user_id AND x.month BETWEEN m_from AND m_to),
         t AS (SELECT analytics.latency_sketch_agg(e.response_time_ms) AS l, sum(e.feedback_rating) AS s,
                      count(e.feedback_rating) AS c
                 FROM analytics.unfolded_events(p_user_id, m_from,
                                                (m_to + interval '1 month - 1 day')::date) e)
    SELECT analytics.latency_sketch_union(r.l, t.l), (COALESCE(r.s, 0) + COALESCE(t.s, 0))::bigint,
           (COALESCE(r.c, 0) + t.c)::bigint
      FROM r, t;
  END;
COMMENT ON FUNCTION analytics.user_months_latency(text, date, date) IS
  'A user''s latency sketch and feedback totals over local months (first days m_from..m_to): monthly rollups plus the unfolded tail';

-- A user's distinct conversations and documents over local days.
CREATE FUNCTION analytics.user_period_distinct(p_user_id text, d_from date, d_to date)
  RETURNS TABLE (conversation_count bigint, document_count bigint)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT (SELECT count(DISTINCT i.item) FROM (
              SELECT x.item FROM analytics.rollup_distinct d, unnest(d.items) AS x(item)
               WHERE d.scope = 'user_conversation' AND d.scope_id = p_user_id AND d.usage_date BETWEEN d_from AND d_to
              UNION ALL
              SELECT t.conversation_id FROM analytics.unfolded_events(p_user_id, d_from, d_to) t) i),
           (SELECT count(DISTINCT i.item) FROM (
              SELECT x.item FROM analytics.rollup_distinct d, unnest(d.items) AS x(item)
               WHERE d.scope = 'user_document' AND d.scope_id = p_user_id AND d.usage_date BETWEEN d_from AND d_to
              UNION ALL
              SELECT t.document_id FROM analytics.unfolded_events(p_user_id, d_from, d_to) t) i);
  END;
COMMENT ON FUNCTION analytics.user_period_distinct(text, date, date) IS
  'A user''s distinct conversations and documents over local days: rollups plus the unfolded tail';

CREATE VIEW analytics.user_daily_usage WITH (security_invoker = true) AS
SELECT c.user_id,
       c.usage_date AS date,
       c.requests AS message_count,
       d.conversation_count,
       d.document_count,
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
       pg_catalog.round(analytics.quantile(x.latency, 0.5))::integer AS median_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.95))::integer AS p95_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.99))::integer AS p99_response_time_ms,
       c.failed AS error_count,
       pg_catalog.round(x.feedback_sum::numeric / NULLIF(x.feedback_count, 0), 2) AS avg_feedback_rating,
       x.feedback_count
  FROM (SELECT u.user_id, u.usage_date, sum(u.requests)::bigint AS requests, sum(u.failed)::bigint AS failed,
               sum(u.input_tokens)::bigint AS input_tokens, sum(u.cached_input_tokens)::bigint AS cached_input_tokens,
               sum(u.cache_write_tokens)::bigint AS cache_write_tokens, sum(u.output_tokens)::bigint AS output_tokens,
               sum(u.reasoning_tokens)::bigint AS reasoning_tokens, sum(u.cache_hits)::bigint AS cache_hits,
               sum(u.cost) AS cost, sum(u.cache_savings) AS cache_savings,
               sum(u.response_time_sum)::bigint AS response_time_sum,
               sum(u.response_time_count)::bigint AS response_time_count
          FROM analytics.usage_counters u
         GROUP BY u.user_id, u.usage_date) c
  CROSS JOIN LATERAL analytics.user_period_latency(c.user_id, c.usage_date, c.usage_date) x
  CROSS JOIN LATERAL analytics.user_period_distinct(c.user_id, c.usage_date, c.usage_date) d;
COMMENT ON VIEW analytics.user_daily_usage IS
  'Per-user usage of each local day (seed 000): exact counts from the counters, latency percentiles, feedback and distinct counts from the rollups plus unfolded events';

CREATE VIEW analytics.user_monthly_usage WITH (security_invoker = true) AS
SELECT m.user_id,
       m.month,
       EXTRACT(year FROM m.month)::integer AS year,
       EXTRACT(month FROM m.month)::integer AS month_number,
       pg_catalog.to_char(m.month, 'YYYY-MM') AS year_month,
       m.message_count, d.conversation_count, d.document_count, m.active_days,
       m.tokens_total, m.input_tokens, m.tokens_cached, m.cache_write_tokens, m.output_tokens,
       m.reasoning_tokens, m.cache_hit_count,
       pg_catalog.round(100.0 * m.tokens_cached / NULLIF(m.tokens_total, 0), 2) AS cache_hit_rate,
       m.cost_total, m.cost_saved_by_cache,
       CASE WHEN m.rt_count > 0 THEN pg_catalog.round(m.rt_sum::numeric / m.rt_count)::integer END
         AS avg_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.5))::integer AS median_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.95))::integer AS p95_response_time_ms,
       pg_catalog.round(analytics.quantile(x.latency, 0.99))::integer AS p99_response_time_ms,
       m.error_count,
       pg_catalog.round(100.0 * m.error_count / NULLIF(m.message_count, 0), 2) AS error_rate,
       pg_catalog.round(x.feedback_sum::numeric / NULLIF(x.feedback_count, 0), 2) AS avg_feedback_rating,
       x.feedback_count
  FROM (SELECT c.user_id,
               pg_catalog.date_trunc('month', c.usage_date::timestamp)::date AS month,
               sum(c.requests)::bigint AS message_count,
               count(DISTINCT c.usage_date) FILTER (WHERE c.requests > 0)::integer AS active_days,
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
         GROUP BY c.user_id, pg_catalog.date_trunc('month', c.usage_date::timestamp)::date) m
  CROSS JOIN LATERAL analytics.user_months_latency(m.user_id, m.month, m.month) x
  CROSS JOIN LATERAL analytics.user_period_distinct(m.user_id, m.month,
                       (m.month + interval '1 month - 1 day')::date) d;
COMMENT ON VIEW analytics.user_monthly_usage IS
  'Per-user usage of each local month: sums of at most 31 day counters, with percentiles, feedback and distinct counts';

CREATE VIEW analytics.v_user_current_month WITH (security_invoker = true) AS
SELECT m.user_id, q.plan_id, m.month, m.message_count, m.tokens_total, m.cost_total,
       m.error_count, q.status, q.limit_name, q.used, q.limit_value, q.remaining,
       q.usage_percent, q.allowed AS can_make_request, q.resets_at
  FROM (SELECT c.user_id, pg_catalog.date_trunc('month', c.usage_date::timestamp)::date AS month,
               sum(c.requests)::bigint AS message_count,
               sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS tokens_total,
               sum(c.cost) AS cost_total, sum(c.failed)::bigint AS error_count
          FROM analytics.usage_counters c
         WHERE c.usage_date >= (pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC') - interval '1 month')::date
         GROUP BY 1, 2) m
  CROSS JOIN LATERAL analytics.check_quota(m.user_id, 0) q
 WHERE m.month = q.month_start;
COMMENT ON VIEW analytics.v_user_current_month IS
  'Each user''s current local month with the check_quota answer: usage percent of the binding limit, remaining, status';

CREATE VIEW analytics.document_usage WITH (security_invoker = true) AS
SELECT r.document_id, r.usage_date AS date, r.requests AS query_count,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'document_user' AND d.scope_id = r.document_id AND d.usage_date = r.usage_date), 0) AS unique_users,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'document_conversation' AND d.scope_id = r.document_id AND d.usage_date = r.usage_date), 0) AS conversation_count,
       r.tokens_total,
       (r.tokens_total / NULLIF(r.requests, 0))::bigint AS avg_tokens_per_query,
       r.cost AS cost_total,
       round(analytics.sketch_sum(r.latency) / NULLIF(analytics.sketch_count(r.latency), 0))::integer AS avg_response_time_ms,
       round(analytics.quantile(r.latency, 0.5))::integer AS median_response_time_ms,
       round(analytics.quantile(r.latency, 0.95))::integer AS p95_response_time_ms,
       round(100.0 * r.cache_hits / NULLIF(r.requests, 0), 2) AS cache_hit_rate,
       round(r.feedback_sum::numeric / NULLIF(r.feedback_count, 0), 2) AS avg_feedback_rating,
       r.feedback_count,
       r.failed AS error_count
  FROM analytics.rollup_documents r;
COMMENT ON VIEW analytics.document_usage IS
  'Per-document usage of each UTC day (seed 000), from the rollups as of the last fold';

CREATE VIEW analytics.system_daily_metrics WITH (security_invoker = true) AS
SELECT s.usage_date AS date,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'system_user' AND d.scope_id = '' AND d.usage_date = s.usage_date), 0) AS active_users,
       COALESCE(nu.new_users, 0) AS new_users,
       s.requests AS total_messages,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'system_conversation' AND d.scope_id = '' AND d.usage_date = s.usage_date), 0) AS total_conversations,
       COALESCE((SELECT cardinality(d.items)::bigint FROM analytics.rollup_distinct d
         WHERE d.scope = 'system_document' AND d.scope_id = '' AND d.usage_date = s.usage_date), 0) AS total_documents_accessed,
       s.tokens_total, s.cached_input_tokens AS tokens_cached,
       round(100.0 * s.cached_input_tokens / NULLIF(s.tokens_total, 0), 2) AS cache_hit_rate,
       s.cost AS cost_total,
       round(s.cost / NULLIF(s.requests, 0), 6) AS cost_per_message,
       s.cache_savings AS cost_saved_by_cache,
       round(analytics.sketch_sum(s.latency) / NULLIF(analytics.sketch_count(s.latency), 0))::integer AS avg_response_time_ms,
       round(analytics.quantile(s.latency, 0.5))::integer AS median_response_time_ms,
       round(analytics.quantile(s.latency, 0.95))::integer AS p95_response_time_ms,
       round(analytics.quantile(s.latency, 0.99))::integer AS p99_response_time_ms,
       s.failed AS error_count,
       round(100.0 * s.failed / NULLIF(s.requests, 0), 2) AS error_rate,
       round(s.feedback_sum::numeric / NULLIF(s.feedback_count, 0), 2) AS avg_feedback_rating,
       s.model_distribution
  FROM (SELECT m.usage_date, sum(m.requests)::bigint AS requests, sum(m.failed)::bigint AS failed,
               sum(m.tokens_total)::bigint AS tokens_total,
               sum(m.cached_input_tokens)::bigint AS cached_input_tokens,
               sum(m.cost) AS cost, sum(m.cache_savings) AS cache_savings,
               analytics.latency_sketch_merge(m.latency) AS latency,
               sum(m.feedback_sum)::bigint AS feedback_sum, sum(m.feedback_count)::bigint AS feedback_count,
               jsonb_object_agg(m.model, m.requests) AS model_distribution
          FROM (SELECT x.usage_date, x.model, sum(x.requests)::bigint AS requests, sum(x.failed) AS failed,
                       sum(x.tokens_total) AS tokens_total, sum(x.cached_input_tokens) AS cached_input_tokens,
                       sum(x.cost) AS cost, sum(x.cache_savings) AS cache_savings,
                       analytics.latency_sketch_merge(x.latency) AS latency,
                       sum(x.feedback_sum) AS feedback_sum, sum(x.feedback_count) AS feedback_count
                  FROM analytics.rollup_system_models x GROUP BY x.usage_date, x.model) m
         GROUP BY m.usage_date) s
  -- New users: those whose first day of all is this one.
  LEFT JOIN (SELECT f.first_day, count(*) AS new_users
               FROM (SELECT u.item, min(p.usage_date) AS first_day
                       FROM analytics.rollup_distinct p, unnest(p.items) AS u(item)
                      WHERE p.scope = 'system_user' AND p.scope_id = ''
                      GROUP BY u.item) f
              GROUP BY f.first_day) nu ON nu.first_day = s.usage_date;
COMMENT ON VIEW analytics.system_daily_metrics IS
  'Platform-wide metrics of each UTC day (seed 000): active and new users, volume, cost, latency percentiles, errors, model distribution';

/* ------------------------------------------------------------------------
 * Retention: whole months of raw events leave; counters and rollups stay.
 * ------------------------------------------------------------------------ */

CREATE FUNCTION analytics.apply_retention() RETURNS integer
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
  RETURN dropped;
END
$$;
COMMENT ON FUNCTION analytics.apply_retention() IS
  'Drops the monthly partitions of chat_events older than usage_analytics.retention_months (after folding them); counters and rollups are kept; returns how many';

/* ------------------------------------------------------------------------
 * Feedback
 * ------------------------------------------------------------------------ */

CREATE FUNCTION analytics.record_feedback(event_id bigint, rating integer, feedback_text text DEFAULT NULL)
  RETURNS void
  LANGUAGE C VOLATILE CALLED ON NULL INPUT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_record_feedback';
COMMENT ON FUNCTION analytics.record_feedback(bigint, integer, text) IS
  'Rates an event 1-5 (again: replaces the rating); end users may rate only their own events';

-- Applies feedback with the owner's rights, after record_feedback (C) has
-- checked the caller.  Internal.
CREATE FUNCTION analytics.apply_feedback(p_event bigint, p_rating integer, p_text text,
    p_identity text, p_sees_all boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  w bigint;
  e record;
  d_sum integer;
  d_count integer;
BEGIN
  -- Hold the fold back while we decide whether the event is folded.
  SELECT f.watermark INTO w FROM analytics.fold_state f FOR SHARE;
  SELECT c.user_id, c.occurred_at, c.usage_date, c.status, c.recorded_xid, c.feedback_rating,
         c.document_id, COALESCE(c.provider, '') AS provider, c.model
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
    d_sum := p_rating - COALESCE(e.feedback_rating, 0);
    d_count := CASE WHEN e.feedback_rating IS NULL THEN 1 ELSE 0 END;
    UPDATE analytics.rollup_user_daily r
       SET feedback_sum = r.feedback_sum + d_sum, feedback_count = r.feedback_count + d_count
     WHERE r.user_id = e.user_id AND r.usage_date = e.usage_date;
    UPDATE analytics.rollup_user_monthly r
       SET feedback_sum = r.feedback_sum + d_sum, feedback_count = r.feedback_count + d_count
     WHERE r.user_id = e.user_id AND r.month = date_trunc('month', e.usage_date::timestamp)::date;
    UPDATE analytics.rollup_system_models r
       SET feedback_sum = r.feedback_sum + d_sum, feedback_count = r.feedback_count + d_count
     WHERE r.usage_date = (e.occurred_at AT TIME ZONE 'UTC')::date
       AND r.provider = e.provider AND r.model = e.model;
    IF e.document_id IS NOT NULL THEN
      UPDATE analytics.rollup_documents r
         SET feedback_sum = r.feedback_sum + d_sum, feedback_count = r.feedback_count + d_count
       WHERE r.document_id = e.document_id AND r.usage_date = (e.occurred_at AT TIME ZONE 'UTC')::date;
    END IF;
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.apply_feedback(bigint, integer, text, text, boolean) IS
  'Writes a rating and moves folded rollups by its difference (internal to record_feedback)';

/* ------------------------------------------------------------------------
 * Verification and repair
 * ------------------------------------------------------------------------ */

-- Each rollup as (key, value) text pairs: what is stored, and what the raw
-- log says (events below the watermark; counters: every event).
CREATE FUNCTION analytics.rollup_comparisons(d_from date, d_to date, w bigint)
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
                  sum(cache_hits), trim_scale(sum(cost)), trim_scale(sum(cache_savings)), sum(response_time_sum), sum(response_time_count))::text
             FROM analytics.usage_counters WHERE usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
            GROUP BY user_id, usage_date$$,
         $$SELECT row(user_id, usage_date)::text, row(count(*), count(*) FILTER (WHERE status = 'failed'),
                  sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens),
                  sum(reasoning_tokens), count(*) FILTER (WHERE cache_hit), trim_scale(sum(cost)),
                  trim_scale(COALESCE(sum(cache_savings), 0)), COALESCE(sum(response_time_ms), 0), count(response_time_ms))::text
             FROM analytics.chat_events WHERE status IN ('completed', 'failed')
              AND usage_date BETWEEN COALESCE(%1$s::date, '-infinity'::date) AND COALESCE(%2$s::date, 'infinity'::date)
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
COMMENT ON FUNCTION analytics.rollup_comparisons(date, date, bigint) IS
  'For each rollup, the query of its stored rows and the query recomputing them from the raw log; amounts compare by value (internal)';

CREATE FUNCTION analytics.verify_rollups(from_date date DEFAULT NULL, to_date date DEFAULT NULL)
  RETURNS TABLE (rollup text, key text, stored text, recomputed text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w bigint;
  horizon date;
  c record;
BEGIN
  -- Dates are local days for per-user rollups and counters, UTC days for the
  -- others.  Before the retention horizon (and on its boundary day, which
  -- local days straddle) the raw log is gone: nothing to compare with.
  SELECT f.watermark, (f.retained_from AT TIME ZONE 'UTC')::date + 1 INTO w, horizon
    FROM analytics.fold_state f;
  IF horizon IS NOT NULL AND (from_date IS NULL OR from_date < horizon) THEN
    from_date := horizon;
  END IF;
  FOR c IN SELECT * FROM analytics.rollup_comparisons(from_date, to_date, w) LOOP
    RETURN QUERY EXECUTE format(
      'SELECT %L::text, COALESCE(s.k, r.k), s.v, r.v
         FROM (%s) AS s(k, v) FULL JOIN (%s) AS r(k, v) ON s.k = r.k
        WHERE s.v IS DISTINCT FROM r.v ORDER BY 2',
      c.rollup, c.stored_sql, c.recomputed_sql);
  END LOOP;
END
$$;
COMMENT ON FUNCTION analytics.verify_rollups(date, date) IS
  'The rows where a rollup or counter differs from a recomputation from the raw log (none, always), from the retention horizon on; dates are local days for per-user rollups, UTC days for the others';

-- Deletes the rollups of a date range and refolds the events below hi into
-- them.  The caller holds the fold_state row lock.  Internal.
CREATE FUNCTION analytics.refold_range(from_date date, to_date date, hi bigint)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  DELETE FROM analytics.rollup_user_daily r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_user_monthly r WHERE r.month BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_user_models r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_user_categories r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_documents r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_system_models r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_distinct r WHERE r.usage_date BETWEEN from_date AND to_date;
  RETURN analytics.fold_range(0, hi, from_date, to_date);
END
$$;
COMMENT ON FUNCTION analytics.refold_range(date, date, bigint) IS
  'Recomputes the rollups of a date range from the events recorded below a transaction id (internal)';

CREATE FUNCTION analytics.rebuild_rollups(from_date date, to_date date)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  w bigint;
BEGIN
  IF from_date IS NULL OR to_date IS NULL OR from_date > to_date THEN
    RAISE EXCEPTION 'from_date and to_date must be dates with from_date <= to_date' USING ERRCODE = '22023';
  END IF;
  -- Whole months, so that monthly rollups are rebuilt whole.
  from_date := date_trunc('month', from_date::timestamp)::date;
  to_date := (date_trunc('month', to_date::timestamp) + interval '1 month - 1 day')::date;
  -- No fold and no writer while we rebuild.
  SELECT f.watermark INTO w FROM analytics.fold_state f FOR UPDATE;
  IF EXISTS (SELECT 1 FROM analytics.fold_state f
              WHERE f.retained_from IS NOT NULL AND from_date <= (f.retained_from AT TIME ZONE 'UTC')::date) THEN
    RAISE EXCEPTION 'cannot rebuild rollups before the retention horizon'
      USING ERRCODE = '55000',
            DETAIL = 'The raw events of those months were dropped; their rollups are all that is left.';
  END IF;
  LOCK TABLE analytics.usage_counters IN EXCLUSIVE MODE;

  DELETE FROM analytics.usage_counters c WHERE c.usage_date BETWEEN from_date AND to_date;
  INSERT INTO analytics.usage_counters (user_id, usage_date, requests, failed, input_tokens,
      cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cache_hits, cost,
      cache_savings, response_time_sum, response_time_count, pending_requests, pending_tokens,
      pending_cost, rejected)
  SELECT e.user_id, e.usage_date, count(*) FILTER (WHERE f.done), count(*) FILTER (WHERE e.status = 'failed'),
         COALESCE(sum(e.input_tokens) FILTER (WHERE f.done), 0),
         COALESCE(sum(e.cached_input_tokens) FILTER (WHERE f.done), 0),
         COALESCE(sum(e.cache_write_tokens) FILTER (WHERE f.done), 0),
         COALESCE(sum(e.output_tokens) FILTER (WHERE f.done), 0),
         COALESCE(sum(e.reasoning_tokens) FILTER (WHERE f.done), 0),
         count(*) FILTER (WHERE f.done AND e.cache_hit), COALESCE(sum(e.cost) FILTER (WHERE f.done), 0),
         COALESCE(sum(e.cache_savings) FILTER (WHERE f.done), 0),
         COALESCE(sum(e.response_time_ms) FILTER (WHERE f.done), 0),
         count(e.response_time_ms) FILTER (WHERE f.done),
         count(*) FILTER (WHERE e.status = 'pending'),
         COALESCE(sum(e.reserved_tokens) FILTER (WHERE e.status = 'pending'), 0),
         COALESCE(sum(e.reserved_cost) FILTER (WHERE e.status = 'pending'), 0),
         count(*) FILTER (WHERE e.status = 'rejected')
    FROM analytics.chat_events e, LATERAL (SELECT e.status IN ('completed', 'failed') AS done) f
   WHERE e.status IN ('completed', 'failed', 'pending', 'rejected')
     AND e.usage_date BETWEEN from_date AND to_date
   GROUP BY e.user_id, e.usage_date;

  RETURN analytics.refold_range(from_date, to_date, w);
END
$$;
COMMENT ON FUNCTION analytics.rebuild_rollups(date, date) IS
  'Recomputes counters and rollups of the whole months of a date range from the raw log (local days for per-user tables, UTC days for the others); returns the events refolded';

-- After a restore from another cluster the log's recorded_xid values are
-- foreign: they say nothing about what is folded.  Called by fold() under
-- the fold_state row lock.  Internal.
CREATE FUNCTION analytics.repair_after_restore() RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  SET usage_analytics.internal_write = on
  AS $$
DECLARE
  w_old      bigint;
  horizon    date;
  h          bigint;
  first_day  date;
  last_day   date;
  rebuild_from date;
  n          bigint := 0;
BEGIN
  SELECT f.watermark, (f.retained_from AT TIME ZONE 'UTC')::date INTO w_old, horizon
    FROM analytics.fold_state f;
  -- Wait for writers in flight and keep new ones out: from here on every
  -- event is visible, and every transaction that may still write has an id
  -- at or above h.
  LOCK TABLE analytics.chat_events IN SHARE MODE;
  h := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
  SELECT LEAST(min(e.usage_date), min((e.occurred_at AT TIME ZONE 'UTC')::date)),
         GREATEST(max(e.usage_date), max((e.occurred_at AT TIME ZONE 'UTC')::date))
    INTO first_day, last_day FROM analytics.chat_events e;
  IF first_day IS NOT NULL THEN
    -- Whole months whose raw events are all kept: recompute from the log.
    rebuild_from := date_trunc('month', GREATEST(first_day, COALESCE(horizon + 1, first_day))::timestamp)::date;
    IF horizon IS NOT NULL AND rebuild_from <= horizon THEN
      rebuild_from := (rebuild_from + interval '1 month')::date;
    END IF;
    IF rebuild_from <= last_day THEN
      n := analytics.refold_range(rebuild_from, last_day, 9223372036854775807);
    END IF;
    -- The month at the retention horizon keeps its rollups: fold what the
    -- dump had not folded yet.
    IF first_day < rebuild_from THEN
      n := n + analytics.fold_range(w_old, 9223372036854775807, NULL, rebuild_from - 1);
    END IF;
    -- Every event present is folded now: put it below the new watermark.
    UPDATE analytics.chat_events e SET recorded_xid = h - 1 WHERE e.recorded_xid >= h;
  END IF;
  UPDATE analytics.fold_state
     SET watermark = h, needs_repair = false, system_identifier = analytics.system_identifier(),
         folded_at = now(), events_folded = events_folded + n;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.repair_after_restore() IS
  'Refolds the rollups after a dump from another cluster was restored (internal; fold() calls it)';

/* ------------------------------------------------------------------------
 * Read API (SECURITY INVOKER: RLS decides what the caller sees)
 * ------------------------------------------------------------------------ */

-- A user's figures by provider and model over a day range, folded part plus
-- unfolded tail.
CREATE FUNCTION analytics.user_model_usage(p_user_id text, d_from date, d_to date)
  RETURNS TABLE (provider text, model text, requests bigint, failed bigint, tokens_total bigint,
                 cost numeric, latency_sum bigint, latency_count bigint, last_used timestamptz)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT u.provider, u.model, sum(u.requests)::bigint, sum(u.failed)::bigint, sum(u.tokens)::bigint,
           sum(u.cost), sum(u.latency_sum)::bigint, sum(u.latency_count)::bigint, max(u.last_used)
      FROM (SELECT r.provider, r.model, r.requests, r.failed,
                   r.input_tokens + r.cached_input_tokens + r.cache_write_tokens + r.output_tokens AS tokens,
                   r.cost, r.latency_sum, r.latency_count, r.last_used
              FROM analytics.rollup_user_models r
             WHERE r.user_id = p_user_id AND r.usage_date BETWEEN d_from AND d_to
            UNION ALL
            SELECT COALESCE(e.provider, ''), e.model, 1, (e.status = 'failed')::int,
                   e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens,
                   e.cost, COALESCE(e.response_time_ms, 0), (e.response_time_ms IS NOT NULL)::int, e.occurred_at
              FROM analytics.unfolded_events(p_user_id, d_from, d_to) e) u
     GROUP BY u.provider, u.model;
  END;
COMMENT ON FUNCTION analytics.user_model_usage(text, date, date) IS
  'A user''s usage by provider and model over local days, including events not yet folded';

CREATE FUNCTION analytics.get_user_token_breakdown(p_user_id text DEFAULT analytics.current_user_id())
  RETURNS TABLE (model text, provider text, request_count bigint, total_tokens bigint, total_cost numeric,
                 avg_tokens_per_request bigint, last_used timestamptz)
  LANGUAGE sql STABLE
  BEGIN ATOMIC
    SELECT u.model, NULLIF(u.provider, ''), u.requests, u.tokens_total, u.cost,
           (u.tokens_total / NULLIF(u.requests, 0))::bigint, u.last_used
      FROM analytics.user_model_usage(p_user_id, '-infinity', 'infinity') u
     ORDER BY u.tokens_total DESC, u.model;
  END;
COMMENT ON FUNCTION analytics.get_user_token_breakdown(text) IS
  'A user''s all-time tokens and cost by model and provider (seed 003)';

CREATE FUNCTION analytics.check_page(p_limit integer, p_offset integer) RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
    RAISE EXCEPTION 'limit must be between 1 and 1000' USING ERRCODE = '22023';
  END IF;
  IF p_offset IS NULL OR p_offset < 0 OR p_offset > 100000 THEN
    RAISE EXCEPTION 'offset must be between 0 and 100000' USING ERRCODE = '22023',
      HINT = 'Page deep histories with get_user_request_history_before.';
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.check_page(integer, integer) IS 'Validates paging arguments (internal)';

CREATE TYPE analytics.request_history_row AS (
  id bigint, occurred_at timestamptz, model text, provider text, status text,
  input_tokens integer, cached_input_tokens integer, cache_write_tokens integer,
  output_tokens integer, reasoning_tokens integer, tokens_total integer, cost numeric,
  response_time_ms integer, time_to_first_token_ms integer, category text, conversation_id text,
  document_id text, error_code text, feedback_rating smallint);
COMMENT ON TYPE analytics.request_history_row IS 'A row of a user''s request history';

CREATE FUNCTION analytics.get_user_request_history(p_user_id text DEFAULT analytics.current_user_id(),
    p_limit integer DEFAULT 50, p_offset integer DEFAULT 0)
  RETURNS SETOF analytics.request_history_row
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM analytics.check_page(p_limit, p_offset);
  RETURN QUERY
  SELECT e.id, e.occurred_at, e.model, e.provider, e.status, e.input_tokens, e.cached_input_tokens,
         e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
         e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens,
         e.cost, e.response_time_ms, e.time_to_first_token_ms, e.category, e.conversation_id,
         e.document_id, e.error_code, e.feedback_rating
    FROM analytics.chat_events e
   WHERE e.user_id = p_user_id
   ORDER BY e.occurred_at DESC, e.id DESC
   LIMIT p_limit OFFSET p_offset;
END
$$;
COMMENT ON FUNCTION analytics.get_user_request_history(text, integer, integer) IS
  'A page of a user''s requests, newest first (seed 003); for deep pages use get_user_request_history_before';

CREATE FUNCTION analytics.get_user_request_history_before(p_user_id text, before_occurred_at timestamptz,
    before_id bigint, p_limit integer DEFAULT 50)
  RETURNS SETOF analytics.request_history_row
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM analytics.check_page(p_limit, 0);
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
   WHERE e.user_id = p_user_id
     AND (e.occurred_at, e.id) < (before_occurred_at, COALESCE(before_id, 9223372036854775807))
   ORDER BY e.occurred_at DESC, e.id DESC
   LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION analytics.get_user_request_history_before(text, timestamptz, bigint, integer) IS
  'Keyset page of a user''s requests older than (before_occurred_at, before_id), newest first: constant time at any depth';

CREATE FUNCTION analytics.user_dashboard(p_user_id text DEFAULT analytics.current_user_id())
  RETURNS jsonb
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  q record;
  plan record;
  tot record;
  cur record;
  perf record;
BEGIN
  IF p_user_id IS NULL THEN
    RAISE EXCEPTION 'user_id must not be null' USING ERRCODE = '23502',
      HINT = 'Set usage_analytics.user_id or pass a user id.';
  END IF;
  SELECT * INTO q FROM analytics.check_quota(p_user_id, 0);
  SELECT * INTO plan FROM analytics.plans p WHERE p.plan_id = q.plan_id;
  -- All time, from the counters (exact, read-your-writes).
  SELECT COALESCE(sum(c.requests), 0) AS requests, COALESCE(sum(c.failed), 0) AS failed,
         COALESCE(sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens), 0) AS tokens,
         COALESCE(sum(c.cost), 0) AS cost,
         sum(c.response_time_sum) AS rt_sum, sum(c.response_time_count) AS rt_count,
         COALESCE(sum(c.requests) FILTER (WHERE c.usage_date >= q.month_start), 0) AS month_requests
    INTO tot
    FROM analytics.usage_counters c WHERE c.user_id = p_user_id;
  SELECT COALESCE(sum(c.requests), 0) AS today
    INTO cur
    FROM analytics.usage_counters c
   WHERE c.user_id = p_user_id
     AND c.usage_date = (now() AT TIME ZONE (SELECT s.time_zone FROM analytics.subject_at(p_user_id, now()) s))::date;
  -- This month's latency percentiles and all-time feedback: rollups plus the unfolded tail.
  SELECT analytics.quantiles(m.latency, '{0.5,0.95,0.99}') AS pct, a.feedback_sum AS fb_sum,
         a.feedback_count AS fb_count
    INTO perf
    FROM analytics.user_months_latency(p_user_id, q.month_start, q.month_start) m,
         analytics.user_months_latency(p_user_id, '-infinity', 'infinity') a;
  RETURN jsonb_build_object(
    'user', jsonb_build_object(
      'id', p_user_id, 'plan', q.plan_id,
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
      'averageResponseTime', round(tot.rt_sum::numeric / NULLIF(tot.rt_count, 0)),
      'medianResponseTime', round(perf.pct[1]::numeric),
      'p95ResponseTime', round(perf.pct[2]::numeric),
      'p99ResponseTime', round(perf.pct[3]::numeric),
      'successRate', round(1 - tot.failed::numeric / NULLIF(tot.requests, 0), 4),
      'averageRating', round(perf.fb_sum::numeric / NULLIF(perf.fb_count, 0), 2),
      'totalRequests', tot.requests),
    'recentRequests', COALESCE((
      SELECT jsonb_agg(jsonb_build_object(
               'id', h.id, 'occurredAt', h.occurred_at, 'model', h.model, 'status', h.status,
               'tokens', h.tokens_total, 'cost', h.cost, 'responseTimeMs', h.response_time_ms,
               'category', h.category))
        FROM analytics.get_user_request_history(p_user_id, 10, 0) h), '[]'),
    'requestsByCategory', COALESCE((
      SELECT jsonb_object_agg(x.category, x.n)
        FROM (SELECT c.category, sum(c.n)::bigint AS n
                FROM (SELECT r.category, r.requests AS n FROM analytics.rollup_user_categories r
                       WHERE r.user_id = p_user_id AND r.usage_date >= q.month_start
                      UNION ALL
                      SELECT e.category, 1 FROM analytics.unfolded_events(p_user_id, q.month_start, 'infinity') e
                       WHERE e.category IS NOT NULL) c
               GROUP BY c.category) x), '{}'));
END
$$;
COMMENT ON FUNCTION analytics.user_dashboard(text) IS
  'A user''s dashboard (seed 001): user, metrics (all time), limits with canMakeRequest, performance (percentiles of this month), recentRequests, requestsByCategory (this month)';

CREATE VIEW analytics.user_request_analytics WITH (security_invoker = true) AS
SELECT c.user_id,
       sum(c.requests)::bigint AS total_requests,
       sum(c.requests - c.failed)::bigint AS successful_requests,
       sum(c.failed)::bigint AS failed_requests,
       sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS total_tokens,
       sum(c.cost) AS total_cost,
       round(sum(c.response_time_sum)::numeric / NULLIF(sum(c.response_time_count), 0))::integer AS avg_response_time,
       (SELECT m.model FROM analytics.rollup_user_models m WHERE m.user_id = c.user_id
         GROUP BY m.model ORDER BY sum(m.requests) DESC, m.model LIMIT 1) AS most_used_model,
       (SELECT NULLIF(m.provider, '') FROM analytics.rollup_user_models m WHERE m.user_id = c.user_id
         GROUP BY m.provider ORDER BY sum(m.requests) DESC, m.provider LIMIT 1) AS most_used_provider,
       (SELECT max(e.occurred_at) FROM analytics.chat_events e WHERE e.user_id = c.user_id) AS last_request_time
  FROM analytics.usage_counters c
 GROUP BY c.user_id;
COMMENT ON VIEW analytics.user_request_analytics IS
  'Per-user totals (seed 003): requests, successes, failures, tokens, cost, average latency, most used model and provider (as of the last fold), last request';

CREATE VIEW analytics.v_user_recent_activity WITH (security_invoker = true) AS
SELECT e.user_id, e.occurred_at, e.id AS event_id, e.conversation_id, e.document_id, e.model, e.provider,
       e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens AS tokens_total,
       e.cost AS cost_total, e.response_time_ms, e.cache_hit, e.status = 'failed' AS error_occurred,
       e.status, e.category, e.metadata
  FROM analytics.chat_events e
 WHERE e.occurred_at >= now() - interval '7 days';
COMMENT ON VIEW analytics.v_user_recent_activity IS
  'The last 7 days of requests (seed 000), with metadata instead of the seed''s document join';

/* ------------------------------------------------------------------------
 * Materialized views: built from rollups, refreshed concurrently, never
 * readable by end users (served through identity-filtered views).
 * ------------------------------------------------------------------------ */

CREATE MATERIALIZED VIEW analytics.mv_user_monthly_summary AS
SELECT c.user_id, c.month, c.message_count, c.active_days, c.tokens_total, c.tokens_cached,
       c.cost_total, c.cost_saved_by_cache, c.error_count,
       round(100.0 * c.error_count / NULLIF(c.message_count, 0), 2) AS error_rate,
       round(analytics.quantile(r.latency, 0.5))::integer AS median_response_time_ms,
       round(analytics.quantile(r.latency, 0.95))::integer AS p95_response_time_ms,
       round(analytics.quantile(r.latency, 0.99))::integer AS p99_response_time_ms,
       round(r.feedback_sum::numeric / NULLIF(r.feedback_count, 0), 2) AS avg_feedback_rating,
       r.feedback_count
  FROM (SELECT u.user_id, date_trunc('month', u.usage_date::timestamp)::date AS month,
               sum(u.requests)::bigint AS message_count,
               count(DISTINCT u.usage_date) FILTER (WHERE u.requests > 0)::integer AS active_days,
               sum(u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens)::bigint AS tokens_total,
               sum(u.cached_input_tokens)::bigint AS tokens_cached, sum(u.cost) AS cost_total,
               sum(u.cache_savings) AS cost_saved_by_cache, sum(u.failed)::bigint AS error_count
          FROM analytics.usage_counters u
         GROUP BY 1, 2) c
  LEFT JOIN analytics.rollup_user_monthly r USING (user_id, month)
WITH NO DATA;
CREATE UNIQUE INDEX mv_user_monthly_summary_key ON analytics.mv_user_monthly_summary (user_id, month);
COMMENT ON MATERIALIZED VIEW analytics.mv_user_monthly_summary IS
  'Per-user monthly summary from the counters and monthly rollups (percentiles and feedback as of the last fold); refreshed by refresh_all_views(); read it through user_monthly_summary';

CREATE MATERIALIZED VIEW analytics.mv_document_popularity AS
SELECT d.document_id,
       sum(d.requests) FILTER (WHERE d.usage_date > current_date - 7)::bigint AS requests_7d,
       sum(d.requests) FILTER (WHERE d.usage_date > current_date - 30)::bigint AS requests_30d,
       sum(d.requests)::bigint AS requests_all_time,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'document_user' AND x.scope_id = d.document_id AND x.usage_date > current_date - 7) AS users_7d,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'document_user' AND x.scope_id = d.document_id AND x.usage_date > current_date - 30) AS users_30d,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'document_user' AND x.scope_id = d.document_id) AS users_all_time,
       sum(d.cost) FILTER (WHERE d.usage_date > current_date - 30) AS cost_30d,
       sum(d.cost) AS cost_all_time,
       round(sum(d.feedback_sum)::numeric / NULLIF(sum(d.feedback_count), 0), 2) AS avg_feedback_rating,
       max(d.usage_date) AS last_used_date
  FROM analytics.rollup_documents d
 GROUP BY d.document_id
WITH NO DATA;
CREATE UNIQUE INDEX mv_document_popularity_key ON analytics.mv_document_popularity (document_id);
COMMENT ON MATERIALIZED VIEW analytics.mv_document_popularity IS
  'Per-document requests, users and cost over 7 days, 30 days (UTC, as of the refresh) and all time; admins and app backends only';

CREATE FUNCTION analytics.refresh_all_views() RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  mv regclass;
BEGIN
  FOREACH mv IN ARRAY ARRAY['analytics.mv_user_monthly_summary', 'analytics.mv_document_popularity']::regclass[] LOOP
    IF (SELECT c.relispopulated FROM pg_class c WHERE c.oid = mv) THEN
      EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', mv);
    ELSE
      EXECUTE format('REFRESH MATERIALIZED VIEW %s', mv);
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION analytics.refresh_all_views() IS
  'Refreshes the materialized views from the rollups (concurrently once populated)';

-- End users read their own rows of the summary through this view (owner's
-- rights on the materialized view, rows filtered by identity).
CREATE VIEW analytics.user_monthly_summary WITH (security_barrier = true) AS
SELECT s.*
  FROM analytics.mv_user_monthly_summary s
 WHERE s.user_id OPERATOR(pg_catalog.=) analytics.current_user_id()
    OR analytics.sees_all_rows();
COMMENT ON VIEW analytics.user_monthly_summary IS
  'mv_user_monthly_summary filtered to the caller''s own user (all rows for app backends and admins)';

/* ------------------------------------------------------------------------
 * pg_cron scheduling (optional)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION analytics.job_definitions(OUT job_name text, OUT default_schedule text, OUT command text)
  RETURNS SETOF record
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  BEGIN ATOMIC
    VALUES ('usage_analytics_fold', '* * * * *', 'SELECT analytics.fold()'),
           ('usage_analytics_refresh_views', '*/10 * * * *', 'SELECT analytics.refresh_all_views()'),
           ('usage_analytics_partitions', '17 3 * * *', 'SELECT analytics.ensure_partitions(2)'),
           ('usage_analytics_expire', '* * * * *', 'SELECT analytics.expire_reservations()'),
           ('usage_analytics_retention', '37 3 * * *', 'SELECT analytics.apply_retention()');
  END;
COMMENT ON FUNCTION analytics.job_definitions() IS
  'The scheduled jobs of the extension: name, default cron schedule, command';

CREATE FUNCTION analytics.require_pg_cron() RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  -- cron.schedule(job_name, schedule, command): name before pg_cron 1.4, text since.
  IF NOT EXISTS (SELECT 1 FROM pg_proc p
                  WHERE p.pronamespace = to_regnamespace('cron') AND p.proname = 'schedule'
                    AND p.pronargs = 3) THEN
    RAISE EXCEPTION 'pg_cron is not installed in this database'
      USING ERRCODE = '55000',
            HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, '
                   'restart, and run CREATE EXTENSION pg_cron.';
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.require_pg_cron() IS 'Raises 55000 with a hint when pg_cron is absent (internal)';

CREATE FUNCTION analytics.schedule_jobs(schedules jsonb DEFAULT '{}')
  RETURNS TABLE (job_name text, schedule text, jobid bigint)
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  j record;
  bad text;
BEGIN
  PERFORM analytics.require_pg_cron();
  IF schedules IS NULL OR jsonb_typeof(schedules) <> 'object' THEN
    RAISE EXCEPTION 'schedules must be a JSON object of job name to cron schedule' USING ERRCODE = '22023';
  END IF;
  SELECT k INTO bad FROM jsonb_object_keys(schedules) k
   WHERE k NOT IN (SELECT d.job_name FROM analytics.job_definitions() d) LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'unknown job "%"', bad USING ERRCODE = '22023',
      HINT = 'The jobs are listed by analytics.job_definitions().';
  END IF;
  FOR j IN SELECT d.job_name, COALESCE(schedules->>d.job_name, d.default_schedule) AS schedule, d.command
             FROM analytics.job_definitions() d LOOP
    job_name := j.job_name;
    schedule := j.schedule;
    -- cron.schedule(name, ...) replaces a job of the same name: idempotent.
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid USING j.job_name, j.schedule, j.command;
    RETURN NEXT;
  END LOOP;
  -- The partition job runs once a day: make this month's partitions now.
  PERFORM analytics.ensure_partitions(2);
END
$$;
COMMENT ON FUNCTION analytics.schedule_jobs(jsonb) IS
  'Creates or updates the named pg_cron jobs (fold, view refresh, partitions, reservation expiry, retention) in this database and creates the monthly partitions now; schedules overrides defaults by job name';

CREATE FUNCTION analytics.unschedule_jobs() RETURNS integer
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n integer := 0;
  j record;
BEGIN
  PERFORM analytics.require_pg_cron();
  FOR j IN EXECUTE 'SELECT c.jobname FROM cron.job c WHERE c.jobname IN (SELECT d.job_name FROM analytics.job_definitions() d)' LOOP
    EXECUTE 'SELECT cron.unschedule($1)' USING j.jobname;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.unschedule_jobs() IS 'Removes the extension''s pg_cron jobs; returns how many';

-- With the owner's rights: cron.job shows a role its own jobs only.
CREATE FUNCTION analytics.job_status()
  RETURNS TABLE (job_name text, command text, scheduled boolean, schedule text, active boolean,
                 last_start timestamptz, last_end timestamptz, last_status text, last_message text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF to_regclass('cron.job') IS NULL THEN
    RETURN QUERY SELECT d.job_name, d.command, false, NULL::text, NULL::boolean, NULL::timestamptz,
                        NULL::timestamptz, NULL::text, NULL::text
                   FROM analytics.job_definitions() d;
    RETURN;
  END IF;
  RETURN QUERY EXECUTE $q$
    SELECT d.job_name, d.command, j.jobid IS NOT NULL, j.schedule, j.active,
           r.start_time, r.end_time, r.status, r.return_message
      FROM analytics.job_definitions() d
      LEFT JOIN cron.job j ON j.jobname = d.job_name
      LEFT JOIN LATERAL (SELECT x.start_time, x.end_time, x.status, x.return_message
                           FROM cron.job_run_details x WHERE x.jobid = j.jobid
                          ORDER BY x.start_time DESC NULLS LAST LIMIT 1) r ON true
     ORDER BY d.job_name $q$;
END
$$;
COMMENT ON FUNCTION analytics.job_status() IS 'The extension''s jobs with their pg_cron schedule and last run';

CREATE VIEW analytics.jobs AS SELECT * FROM analytics.job_status();
COMMENT ON VIEW analytics.jobs IS 'The extension''s scheduled jobs, their schedule and last run (empty schedule without pg_cron)';

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

-- Tables of one row set per user: one policy, the same for all.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['usage_counters', 'subscriptions', 'notifications', 'rollup_user_daily',
                           'rollup_user_monthly', 'rollup_user_models', 'rollup_user_categories'] LOOP
    EXECUTE format('ALTER TABLE analytics.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY %I ON analytics.%I FOR SELECT
                     USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
                            OR (SELECT analytics.sees_all_rows()))$p$, t || '_read', t);
  END LOOP;
END
$$;

-- Per-user scopes are the user's; document and system scopes are for
-- app backends and admins.
ALTER TABLE analytics.rollup_distinct ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_distinct_read ON analytics.rollup_distinct FOR SELECT
  USING ((scope OPERATOR(pg_catalog.=) ANY ('{user_conversation,user_document}')
          AND scope_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id()))
         OR (SELECT analytics.sees_all_rows()));

ALTER TABLE analytics.rollup_documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_documents_read ON analytics.rollup_documents FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));

ALTER TABLE analytics.rollup_system_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_system_models_read ON analytics.rollup_system_models FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));

-- Everyone may know how far the fold has come.
ALTER TABLE analytics.fold_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY fold_state_read ON analytics.fold_state FOR SELECT USING (true);

-- Internal tables: RLS on and no policy at all.
ALTER TABLE analytics.request_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics.role_bindings ENABLE ROW LEVEL SECURITY;

/* ------------------------------------------------------------------------
 * Access: one list of privileges per kind of role, applied by the helpers.
 * ------------------------------------------------------------------------ */

-- The privileges of each kind of role ('*': every kind).  Each version's
-- script adds the rows for what it adds; the grant helpers read them.
CREATE TABLE analytics.access_list (
  kind        text NOT NULL CHECK (kind IN ('*', 'app_backend', 'end_user', 'admin')),
  object_type text NOT NULL CHECK (object_type IN ('SCHEMA', 'TABLE', 'FUNCTION', 'PARAMETER')),
  object_name text NOT NULL,
  privilege   text NOT NULL,
  all_rows    boolean NOT NULL DEFAULT false,
  PRIMARY KEY (kind, object_type, object_name)
);
COMMENT ON COLUMN analytics.access_list.all_rows IS
  'The object shows every user''s rows without row-level security (materialized views): not granted to organization-scoped admins';
COMMENT ON TABLE analytics.access_list IS
  'The privileges each kind of role receives from the grant helpers (part of the extension, not dumped)';
ALTER TABLE analytics.access_list ENABLE ROW LEVEL SECURITY;

INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
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
  ('*', 'TABLE',    'analytics.fold_state',                       'SELECT'),
  ('*', 'TABLE',    'analytics.notifications',                    'SELECT'),
  ('*', 'FUNCTION', 'analytics.list_notifications(text, boolean)', 'EXECUTE'),
  ('*', 'TABLE',    'analytics.rollup_user_daily',                'SELECT'),
  ('*', 'TABLE',    'analytics.rollup_user_models',               'SELECT'),
  ('*', 'TABLE',    'analytics.rollup_user_categories',           'SELECT'),
  ('*', 'TABLE',    'analytics.rollup_distinct',                  'SELECT'),
  ('*', 'TABLE',    'analytics.user_monthly_summary',             'SELECT'),
  ('*', 'TABLE',    'analytics.user_request_analytics',           'SELECT'),
  ('*', 'TABLE',    'analytics.v_user_recent_activity',           'SELECT'),
  ('*', 'FUNCTION', 'analytics.fold_watermark()',                 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.user_period_distinct(text, date, date)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.user_months_latency(text, date, date)', 'EXECUTE'),
  ('*', 'TABLE',    'analytics.rollup_user_monthly',              'SELECT'),
  ('*', 'FUNCTION', 'analytics.user_period_latency(text, date, date)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.unfolded_events(text, date, date)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.user_model_usage(text, date, date)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.subject_at(text, timestamptz)',    'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.user_dashboard(text)',             'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.get_user_request_history(text, integer, integer)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.get_user_request_history_before(text, timestamptz, bigint, integer)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.get_user_token_breakdown(text)',   'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.check_page(integer, integer)',     'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.record_feedback(bigint, integer, text)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.quantile(analytics.latency_sketch, double precision)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.quantiles(analytics.latency_sketch, double precision[])', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.latency_sketch_union(analytics.latency_sketch, analytics.latency_sketch)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.latency_sketch_agg(double precision)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.latency_sketch_merge(analytics.latency_sketch)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.sketch_count(analytics.latency_sketch)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.sketch_sum(analytics.latency_sketch)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.sketch_min(analytics.latency_sketch)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.sketch_max(analytics.latency_sketch)', 'EXECUTE'),
  -- app backends and admins: system-wide figures
  ('app_backend', 'TABLE', 'analytics.rollup_documents',     'SELECT'),
  ('app_backend', 'TABLE', 'analytics.rollup_system_models', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.document_usage',       'SELECT'),
  ('app_backend', 'TABLE', 'analytics.system_daily_metrics', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.mv_document_popularity', 'SELECT'),
  ('admin', 'TABLE', 'analytics.rollup_documents',           'SELECT'),
  ('admin', 'TABLE', 'analytics.rollup_system_models',       'SELECT'),
  ('admin', 'TABLE', 'analytics.document_usage',             'SELECT'),
  ('admin', 'TABLE', 'analytics.system_daily_metrics',       'SELECT'),
  ('admin', 'TABLE', 'analytics.mv_document_popularity',     'SELECT'),
  ('admin', 'TABLE', 'analytics.mv_user_monthly_summary',    'SELECT'),
  ('admin', 'TABLE', 'analytics.jobs',                       'SELECT'),
  ('admin', 'FUNCTION', 'analytics.job_status()',            'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.fold()',                  'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.refresh_all_views()',     'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.verify_rollups(date, date)', 'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.rebuild_rollups(date, date)', 'EXECUTE'),
  -- the application's backend
  ('app_backend', 'FUNCTION', 'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb)', 'EXECUTE'),
  ('app_backend', 'FUNCTION', 'analytics.record_chat_events(jsonb)',                   'EXECUTE'),
  ('app_backend', 'FUNCTION', 'analytics.start_request(text, text, bigint, text, text, numeric, text, text, text, text, text, text, text, text, jsonb)', 'EXECUTE'),
  ('app_backend', 'FUNCTION', 'analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, boolean, text, text)', 'EXECUTE'),
  ('app_backend', 'FUNCTION', 'analytics.acknowledge_notifications(bigint[])',        'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.acknowledge_notifications(bigint[])',              'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.expire_reservations()',                            'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.apply_retention()',                                'EXECUTE'),
  ('app_backend', 'FUNCTION', 'analytics.subscribe(text, text, timestamptz, text)',  'EXECUTE'),
  ('app_backend', 'PARAMETER', 'usage_analytics.user_id',                            'SET'),
  -- administrators
  ('admin', 'FUNCTION', 'analytics.subscribe(text, text, timestamptz, text)',        'EXECUTE'),
  ('admin', 'FUNCTION', 'analytics.ensure_partitions(integer)',                      'EXECUTE'),
  ('admin', 'TABLE',    'analytics.plans',                                           'INSERT, UPDATE, DELETE'),
  ('admin', 'TABLE',    'analytics.model_prices',                                    'INSERT, UPDATE, DELETE');
-- Materialized views cannot have row-level security.
UPDATE analytics.access_list SET all_rows = true
 WHERE object_name IN ('analytics.mv_user_monthly_summary', 'analytics.mv_document_popularity');

CREATE FUNCTION analytics.access_privileges(kind text,
    OUT object_type text, OUT object_name text, OUT privilege text, OUT all_rows boolean)
  RETURNS SETOF record
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT a.object_type, a.object_name, a.privilege, a.all_rows
      FROM analytics.access_list a
     WHERE a.kind = '*' OR a.kind = access_privileges.kind
     ORDER BY a.object_type DESC, a.object_name
  $$;
COMMENT ON FUNCTION analytics.access_privileges(text) IS
  'The privileges each kind of role (app_backend, end_user, admin) receives from the grant helpers';

-- Grants or revokes the privileges of a kind of role.  A role scoped to an
-- organization gets none of those that show every user's rows.
CREATE FUNCTION analytics.apply_privileges(role_name name, kind text, scoped boolean, do_grant boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  p record;
BEGIN
  FOR p IN SELECT * FROM analytics.access_privileges(kind) LOOP
    CONTINUE WHEN p.object_type = 'PARAMETER' AND current_setting('server_version_num')::int < 150000;
    EXECUTE format(CASE WHEN do_grant AND NOT (scoped AND p.all_rows) THEN 'GRANT %s ON %s %s TO %I'
                        ELSE 'REVOKE %s ON %s %s FROM %I' END,
                   p.privilege, p.object_type, p.object_name, role_name);
  END LOOP;
END
$$;
COMMENT ON FUNCTION analytics.apply_privileges(name, text, boolean, boolean) IS
  'Grants or revokes the privileges of a kind of role (internal to the grant helpers)';

-- A binding written (by the helpers, or by a restore of a dump) grants its
-- kind's privileges: a restored database, or one updated to a version with
-- new objects, gives every bound role what its kind holds now.
CREATE FUNCTION analytics.role_binding_grant() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = NEW.role_name) THEN
    RAISE EXCEPTION 'role "%" does not exist', NEW.role_name USING ERRCODE = '42704';
  END IF;
  PERFORM analytics.apply_privileges(NEW.role_name, NEW.kind, NEW.org_id IS NOT NULL, true);
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION analytics.role_binding_grant() IS
  'Trigger: grants a bound role the privileges of its kind (internal)';
CREATE TRIGGER role_binding_grant BEFORE INSERT ON analytics.role_bindings
  FOR EACH ROW EXECUTE FUNCTION analytics.role_binding_grant();

CREATE FUNCTION analytics.apply_access(role_name name, kind text, org_id text, do_grant boolean)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF role_name IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = role_name) THEN
    RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = '42704';
  END IF;
  IF kind <> 'admin' AND org_id IS NOT NULL THEN
    RAISE EXCEPTION 'only admin access can be scoped to an organization' USING ERRCODE = '22023';
  END IF;
  IF do_grant THEN
    -- The binding's trigger grants.
    INSERT INTO analytics.role_bindings AS b (role_name, kind, org_id)
    VALUES (apply_access.role_name, apply_access.kind, apply_access.org_id)
    ON CONFLICT ON CONSTRAINT role_bindings_pkey DO UPDATE SET org_id = EXCLUDED.org_id, granted_at = now();
  ELSE
    PERFORM analytics.apply_privileges(role_name, kind, false, false);
    DELETE FROM analytics.role_bindings b WHERE b.role_name = apply_access.role_name AND b.kind = apply_access.kind;
    -- What the role's other kinds share with this one stays granted.
    PERFORM analytics.apply_privileges(b.role_name, b.kind, b.org_id IS NOT NULL, true)
       FROM analytics.role_bindings b WHERE b.role_name = apply_access.role_name;
  END IF;
END
$$;
COMMENT ON FUNCTION analytics.apply_access(name, text, text, boolean) IS
  'Records or removes a binding of a role to a kind of access, with its privileges (internal to the grant helpers)';

CREATE FUNCTION analytics.grant_app_backend(role_name name) RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT analytics.apply_access(role_name, 'app_backend', NULL, true);
  END;
COMMENT ON FUNCTION analytics.grant_app_backend(name) IS
  'Lets a role record events, subscribe users, set usage_analytics.user_id and read all rows (the application''s backend)';

CREATE FUNCTION analytics.grant_end_user(role_name name) RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT analytics.apply_access(role_name, 'end_user', NULL, true);
  END;
COMMENT ON FUNCTION analytics.grant_end_user(name) IS
  'Lets a role read its own user''s rows (identity from analytics.current_user_id()) and check its own quota';

CREATE FUNCTION analytics.grant_admin(role_name name, org_id text DEFAULT NULL) RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT analytics.apply_access(role_name, 'admin', org_id, true);
  END;
COMMENT ON FUNCTION analytics.grant_admin(name, text) IS
  'Lets a role read every row and manage plans and prices; with org_id, read that organization''s events only';

CREATE FUNCTION analytics.revoke_access(role_name name, kind text) RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT analytics.apply_access(role_name, kind, NULL, false);
  END;
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
SELECT pg_catalog.pg_extension_config_dump('analytics.fold_state', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.notifications', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.notifications_notification_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_daily', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_models', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_monthly', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_categories', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_documents', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_system_models', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_distinct', '');

-- No monthly partition is made here: a partition created by this script
-- would be a member of the extension, and CREATE EXTENSION at restore time
-- would make other months than the dump holds.  Events wait in the default
-- partition until ensure_partitions() runs (schedule_jobs() runs it at once).
SELECT analytics.refresh_all_views();
