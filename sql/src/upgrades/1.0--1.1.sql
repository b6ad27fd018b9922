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
 * Assembled by the Makefile (tools/assemble-sql.pl): each "\ir
 * functions/NAME.sql" is the current body of that function from
 * sql/src/functions/, the same file the fresh install of 1.1 includes, so
 * both paths build the same catalog (test/t/004_upgrade.pl compares them).
 * Function files add their own access_list rows and REVOKE from PUBLIC;
 * this script adds the rows of new tables and removes those of dropped
 * objects.
 *-------------------------------------------------------------------------
 */
\echo Use "ALTER EXTENSION usage_analytics UPDATE TO '1.1'" to load this file. \quit

/*
 * Organization-scoped admins read their organization's rows and change
 * nothing that every tenant shares: plans, prices, other users'
 * subscriptions, events and notifications, partitions, folds, retention and
 * jobs.  all_rows (materialized views) becomes the wider unscoped_only.
 */
ALTER TABLE analytics.access_list RENAME COLUMN all_rows TO unscoped_only;
-- PostgreSQL 18 names NOT NULL constraints after their column: renamed
-- with it, as a fresh install names it.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
              WHERE conrelid = 'analytics.access_list'::regclass AND conname = 'access_list_all_rows_not_null') THEN
    ALTER TABLE analytics.access_list RENAME CONSTRAINT access_list_all_rows_not_null TO access_list_unscoped_only_not_null;
  END IF;
END
$$;
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
             'analytics.fold()',
             'analytics.refresh_all_views()',
             'analytics.rebuild_rollups(date, date)',
             'analytics.verify_rollups(date, date)',
             'analytics.job_status()',
             'analytics.acknowledge_notifications(bigint[])'));

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
\ir ../functions/rollups_add.sql

\ir ../functions/apply_correction.sql

\ir ../functions/notify_thresholds.sql

\ir ../functions/correct_event.sql

\ir ../functions/void_event.sql

/*
 * Payload retention: events keep their figures for retention_months, their
 * free text (metadata, error_message, feedback_text, which may hold prompt
 * or response fragments) for usage_analytics.payload_retention_days.
 */
ALTER TABLE analytics.fold_state ADD COLUMN payloads_cleared_before timestamptz;
COMMENT ON COLUMN analytics.fold_state.payloads_cleared_before IS
  'Events that occurred before this have had their free text cleared by clear_payloads()';

\ir ../functions/fold_state_restore.sql

\ir ../functions/clear_payloads.sql

\ir ../functions/apply_retention.sql

\ir ../functions/fold_range.sql

\ir ../functions/usage_snapshot.sql

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

REVOKE ALL ON TABLE analytics.event_corrections FROM PUBLIC;
REVOKE ALL ON SEQUENCE analytics.event_corrections_correction_id_seq FROM PUBLIC;

-- Who may read and make corrections; roles bound before this update get
-- the new privileges of their kind now.
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.event_corrections', 'SELECT');

/*
 * record_feedback's rollup change goes through rollups_add, as
 * corrections do (one definition of a folded event's delta).
 */
\ir ../functions/apply_feedback.sql

-- ==== issue 11: settings in any session, access, uninstall, read path ====

/*
 * Settings read from SQL.  current_setting('usage_analytics.x') fails as
 * the first call of a session, before anything loaded the C library that
 * defines the settings; pg_cron runs every job in a new session.  This C
 * function loads it by being called.
 */
\ir ../functions/setting.sql

\ir ../functions/subject_at.sql

\ir ../functions/counters_add.sql

-- rebuild_rollups writes the counters through counters_add too.
\ir ../functions/rebuild_rollups.sql

-- Corrections (apply_correction) check the figures with the write path's
-- own code.
\ir ../functions/check_ledger.sql

\ir ../functions/expire_reservations.sql

/*
 * verify_rollups: the counters' pending reservations and rejections are
 * compared with the log too, and a user-day whose every figure is zero
 * (only expired requests, say) is the same as no row.
 */
\ir ../functions/rollup_comparisons.sql

/*
 * Who sees what.  sees_all_rows() and admin_org_ids() answer for the
 * calling role only (access.c); role_has_kind(r, ...) and role_admin_orgs(r)
 * answered any caller about any role and are gone.
 */
\ir ../functions/sees_all_rows.sql
\ir ../functions/admin_org_ids.sql
DELETE FROM analytics.access_list
 WHERE object_name IN ('analytics.role_has_kind(name, text[])', 'analytics.role_admin_orgs(name)');
DROP FUNCTION analytics.role_has_kind(name, text[]);
DROP FUNCTION analytics.role_admin_orgs(name);

DROP FUNCTION analytics.access_privileges(text);
\ir ../functions/access_privileges.sql

\ir ../functions/apply_privileges.sql

/*
 * Uninstalling leaves nothing behind.  DROP EXTENSION usage_analytics
 * fires this event trigger first (uninstall.c), which removes what lives
 * outside the extension's objects: the pg_cron jobs and the SET ON
 * PARAMETER grants (DROP ROLE would fail on those).
 */
\ir ../functions/uninstall_cleanup.sql

\ir ../functions/on_drop_extension.sql
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

\ir ../functions/index_partition.sql

\ir ../functions/distributed.sql

\ir ../functions/guard_partition.sql

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
\ir ../functions/list_notifications.sql

DROP FUNCTION analytics.get_user_token_breakdown(text);
\ir ../functions/get_user_token_breakdown.sql

DROP FUNCTION analytics.get_user_request_history(text, integer, integer);
\ir ../functions/get_user_request_history.sql

DROP FUNCTION analytics.get_user_request_history_before(text, timestamptz, bigint, integer);
\ir ../functions/get_user_request_history_before.sql

/*
 * user_dashboard: "performance" is this month's, every figure of it (it
 * mixed all-time averages with this month's percentiles).  "metrics" stays
 * all time.
 */
DROP FUNCTION analytics.user_dashboard(text);
\ir ../functions/user_dashboard.sql

/*
 * mv_document_popularity: windows are UTC days (document rollups are UTC
 * days), not the refreshing session's current_date; empty windows are 0.
 * Made again with the fold figures below (issue 13).
 */

/*
 * For operators: how far the fold lags, and the jobs' recent failures.
 */
\ir ../functions/fold_lag_status.sql
\ir ../views/fold_lag.sql

\ir ../functions/job_failure_list.sql
\ir ../views/job_failures.sql

-- ==== issue 11: notifications exactly once under concurrency ====
-- fold() now also records the thresholds that concurrent writers reached
-- together without any of them seeing it (src/fold.c, src/notify.c).
COMMENT ON TABLE analytics.notifications IS
  'Outbox of usage thresholds reached: one row per user, limit, period and threshold, exactly once, written in the transaction that reached it (or, when concurrent transactions reached it together, by the next fold()) and announced with NOTIFY usage_analytics';
\ir ../functions/fold.sql

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
\ir ../functions/price_request.sql

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

\ir ../functions/litellm_rate.sql

\ir ../functions/import_litellm_prices.sql

/*
 * Provider usage objects onto the disjoint ledger (SPEC §2): input excludes
 * cached reads and cache writes; reasoning is part of output.  Each field
 * is a non-negative integer or absent (0); a given total must add up.
 */

\ir ../functions/usage_tokens.sql

\ir ../functions/usage_object.sql

\ir ../functions/gemini_usage.sql

\ir ../functions/bedrock_usage.sql

\ir ../functions/openai_responses_usage.sql

\ir ../functions/otel_genai_usage.sql

\ir ../functions/openai_usage.sql

\ir ../functions/anthropic_usage.sql

REVOKE ALL ON TABLE analytics.model_aliases FROM PUBLIC;

-- Everyone reads the aliases, as the price book; admins edit them.
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.model_aliases', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.model_aliases', 'INSERT, UPDATE, DELETE', true);

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
\ir ../functions/amount_in.sql
\ir ../functions/amount_out.sql
\ir ../functions/amount_recv.sql
\ir ../functions/amount_send.sql
CREATE TYPE analytics.amount (
  INPUT = analytics.amount_in, OUTPUT = analytics.amount_out,
  RECEIVE = analytics.amount_recv, SEND = analytics.amount_send,
  LIKE = pg_catalog.numeric, CATEGORY = 'N');
COMMENT ON TYPE analytics.amount IS
  'An amount of money in USD as a function argument: numeric, taken implicitly from numeric, integers, double precision (its text form) and untyped or JSON text';
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

\ir ../functions/record_chat_event.sql

\ir ../functions/record_chat_event_keys.sql

\ir ../functions/record_chat_events.sql

\ir ../functions/start_request.sql

\ir ../functions/complete_request.sql

/*
 * Identity through drivers and pools.  SET takes no bind parameters and a
 * session-level SET outlives the transaction (a pooled connection would
 * hand it to the next client).  act_as sets the identity and the end-user
 * role for the current transaction only, from values; grant_act_as gives
 * the app backend the membership SET ROLE needs.
 */
\ir ../functions/is_end_user_role.sql

\ir ../functions/act_as.sql

\ir ../functions/grant_act_as.sql

-- The functions' files added the rows of their new signatures.
DELETE FROM analytics.access_list
 WHERE object_name IN (
   'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb)',
   'analytics.start_request(text, text, bigint, text, text, numeric, text, text, text, text, text, text, text, text, jsonb)',
   'analytics.complete_request(bigint, text, bigint, bigint, bigint, bigint, bigint, numeric, bigint, bigint, text, text, boolean, text, text)');

-- ==== issue 13: event columns and raw-log lookups ====
/*
 * Seeds 000 and 001: events carry the model version, the lengths of query
 * and response, a complexity label and the end user's address and client
 * (record_chat_event, record_chat_events, start_request and
 * complete_request take them; their files above have the new signatures).
 * Existing events: NULL, unknown.
 */
ALTER TABLE analytics.chat_events
  ADD COLUMN model_version      text,
  ADD COLUMN user_query_length  integer CHECK (user_query_length BETWEEN 0 AND 100000000),
  ADD COLUMN ai_response_length integer CHECK (ai_response_length BETWEEN 0 AND 100000000),
  ADD COLUMN complexity         text,
  ADD COLUMN ip_address         inet,
  ADD COLUMN user_agent         text;
COMMENT ON COLUMN analytics.chat_events.model_version IS
  'The model version the provider reports (e.g. a dated snapshot), as sent; NULL when unknown';
COMMENT ON COLUMN analytics.chat_events.user_query_length IS 'Characters of the user''s query; NULL when unknown';
COMMENT ON COLUMN analytics.chat_events.ai_response_length IS 'Characters of the response; NULL when unknown';
COMMENT ON COLUMN analytics.chat_events.complexity IS 'The application''s label of the request''s complexity (e.g. low, medium, high)';
COMMENT ON COLUMN analytics.chat_events.ip_address IS
  'The end user''s address as the application saw it; cleared with the free text by payload retention';
COMMENT ON COLUMN analytics.chat_events.user_agent IS
  'The end user''s client as the application saw it; cleared with the free text by payload retention';

-- Functions over whole chat_events rows, and the SQL-standard bodies over
-- them, keep the columns they were parsed with: made again, with the
-- columns 1.1 adds (priced_model and the above).
\ir ../functions/unfolded_events.sql
\ir ../functions/user_period_latency.sql
\ir ../functions/user_months_latency.sql
\ir ../functions/user_model_usage.sql

-- One conversation's events, one document's recent events and recent
-- errors read an index of each month (index_partition calls this for new
-- partitions).
\ir ../functions/index_partition_lookups.sql
SELECT analytics.index_partition_lookups(i.inhrelid::regclass)
  FROM pg_catalog.pg_inherits i
 WHERE i.inhparent = 'analytics.chat_events'::regclass;

-- ==== issue 13: read-side views and alert rules ====
/*
 * user_monthly_usage: limit_reached, limit_reached_at, limit_name of every
 * month (user_month_limit, from the raw log).  user_request_analytics:
 * most used model and provider with the unfolded tail.  The recent
 * activity window as a parameter (user_recent_activity(days)).  Per-user
 * monthly breakdown by model and provider; system-wide month by model;
 * users by plan.  Alert rules evaluated by the usage_analytics_alerts job
 * into notifications (new column rule_id).
 */
\ir ../functions/user_month_limit.sql


\ir ../views/user_request_analytics.sql

\ir ../functions/check_days.sql

\ir ../functions/user_recent_activity.sql

\ir ../views/v_user_recent_activity.sql

-- The rows of the views above are in access_list already.
/* Per user, local month, provider and model (seed 003's monthly token
 * breakdown): the folded days plus the not yet folded tail, so a user
 * reads their own writes.  A condition on user_id reaches both branches
 * (rollup_user_models' key, chat_events' (user_id, recorded_xid) index). */
\ir ../views/user_monthly_model_usage.sql

/* System-wide reports (seed 004): usage by UTC month and model from the
 * rollups (as of the last fold), and users by plan. */
\ir ../views/model_monthly_usage.sql

/* Users are those the extension knows: with usage counters or a
 * subscription.  Each is counted under the plan in force now: its
 * subscription's, or usage_analytics.default_plan without one. */
\ir ../views/users_by_plan.sql

ALTER TABLE analytics.notifications ADD COLUMN rule_id bigint;
COMMENT ON COLUMN analytics.notifications.rule_id IS
  'The alert rule (analytics.alert_rules) that wrote the row; NULL for plan thresholds';
-- list_notifications (above, a string body) returns the new column as is.

CREATE TABLE analytics.alert_rules (
  rule_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         text NOT NULL UNIQUE,
  user_id      text,
  metric       text NOT NULL,
  threshold    numeric NOT NULL,
  error_window interval,
  min_requests integer NOT NULL DEFAULT 1,
  enabled      boolean NOT NULL DEFAULT true,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE analytics.alert_rules IS
  'Alerts beyond plan thresholds: metric cost_per_day, tokens_per_month or error_rate reaching threshold, for user_id or system-wide (NULL); evaluated by evaluate_alerts() into notifications';
COMMENT ON COLUMN analytics.alert_rules.user_id IS
  'The user the rule watches; NULL: the whole system (UTC days and months)';
COMMENT ON COLUMN analytics.alert_rules.threshold IS
  'USD per day (cost_per_day), tokens per month (tokens_per_month), or the failed share of requests, in (0, 1] (error_rate)';
COMMENT ON COLUMN analytics.alert_rules.error_window IS
  'error_rate only: the sliding window, 1 minute to 1 day';
COMMENT ON COLUMN analytics.alert_rules.min_requests IS
  'error_rate only: fewer finished requests in the window never alert';

\ir ../functions/check_alert_rule.sql
CREATE TRIGGER alert_rules_check BEFORE INSERT OR UPDATE ON analytics.alert_rules
  FOR EACH ROW EXECUTE FUNCTION analytics.check_alert_rule();

SELECT pg_catalog.pg_extension_config_dump('analytics.alert_rules', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.alert_rules_rule_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'TABLE', 'analytics.alert_rules', 'SELECT, INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

\ir ../functions/evaluate_alerts.sql
REVOKE ALL ON TABLE analytics.alert_rules FROM PUBLIC;
REVOKE ALL ON SEQUENCE analytics.alert_rules_rule_id_seq FROM PUBLIC;

\ir ../functions/job_definitions.sql

\ir ../functions/schedule_jobs.sql

-- ==== issue 13: admission rules (model allow-list, subscriptions that end, switches, provider rate limits) ====
/*
 * start_request (and check_quota with a model) apply the plan's model
 * allow-list (features->'models'), refuse models and providers switched
 * off in provider_limits, and admit at most provider_limits' requests per
 * UTC minute and day of a provider or model across all users, counted in
 * provider_counters (src/rules.c).  subscribe takes ends_at (a trial, a
 * plan that expires); subject_at keeps the ended subscription's time zone
 * for the default plan, and expire_reservations (included above) deletes
 * old rate-limit windows.
 */
CREATE TABLE analytics.provider_limits (
  provider            text NOT NULL CHECK (provider <> ''),
  model               text NOT NULL DEFAULT '*' CHECK (model <> ''),
  active              boolean NOT NULL DEFAULT true,
  requests_per_minute bigint CHECK (requests_per_minute >= 0),
  requests_per_day    bigint CHECK (requests_per_day >= 0),
  PRIMARY KEY (provider, model)
);
COMMENT ON TABLE analytics.provider_limits IS
  'Per provider (model ''*'') or price-book model: whether start_request admits it (active) and how many requests it admits per UTC minute and day across all users (NULL = no limit)';
SELECT pg_catalog.pg_extension_config_dump('analytics.provider_limits', '');

CREATE TABLE analytics.provider_counters (
  provider     text NOT NULL,
  model        text NOT NULL,
  period       text NOT NULL CHECK (period IN ('minute', 'day')),
  period_start timestamptz NOT NULL,
  slot         smallint NOT NULL,
  requests     bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (provider, model, period, period_start, slot)
) WITH (fillfactor = 50);
COMMENT ON TABLE analytics.provider_counters IS
  'Requests start_request admitted per provider or model with a rate limit and fixed UTC minute or day, across all users; sum the slots';
ALTER TABLE analytics.provider_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY provider_counters_read ON analytics.provider_counters FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));
SELECT pg_catalog.pg_extension_config_dump('analytics.provider_counters', '');

REVOKE ALL ON TABLE analytics.provider_limits, analytics.provider_counters FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('*', 'TABLE', 'analytics.provider_limits', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.provider_limits', 'INSERT, UPDATE, DELETE', true),
  ('app_backend', 'TABLE', 'analytics.provider_counters', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.provider_counters', 'SELECT', true)
  ON CONFLICT DO NOTHING;

-- check_quota(user_id, tokens, model, provider): the two-argument form stays.
\ir ../functions/check_quota.sql

DROP FUNCTION analytics.subscribe(text, text, timestamptz, text);
\ir ../functions/subscribe.sql
DELETE FROM analytics.access_list
 WHERE object_name = 'analytics.subscribe(text, text, timestamptz, text)';

-- ==== issue 13: fold figures (lengths, labels, sessions, conversations, sections) ====
/*
 * Seeds 000, 001 and 004, from the rollups: average query and response
 * lengths per user-day, user-month and system-day (sums and counts of the
 * known lengths); requests by query_intent and request_type per user-day
 * and system-day; distinct sessions per user-day (rollup_distinct scope
 * user_session); per-conversation figures; the sections most referenced per
 * document and day; a document-day's last event.  Rollups of events
 * already folded get the new figures from the raw log here (under the fold
 * lock), so verify_rollups stays empty; where retention dropped the raw
 * events, the new figures stay 0 or empty (last_used NULL).  Length sums
 * start at 0: every event recorded before 1.1 has unknown (NULL) lengths.
 */
SELECT 1 FROM analytics.fold_state FOR UPDATE;

ALTER TABLE analytics.rollup_user_daily
  ADD COLUMN query_length_sum      bigint NOT NULL DEFAULT 0,
  ADD COLUMN query_length_count    bigint NOT NULL DEFAULT 0,
  ADD COLUMN response_length_sum   bigint NOT NULL DEFAULT 0,
  ADD COLUMN response_length_count bigint NOT NULL DEFAULT 0;
ALTER TABLE analytics.rollup_user_monthly
  ADD COLUMN query_length_sum      bigint NOT NULL DEFAULT 0,
  ADD COLUMN query_length_count    bigint NOT NULL DEFAULT 0,
  ADD COLUMN response_length_sum   bigint NOT NULL DEFAULT 0,
  ADD COLUMN response_length_count bigint NOT NULL DEFAULT 0,
  ADD COLUMN requests              bigint NOT NULL DEFAULT 0,
  ADD COLUMN failed                bigint NOT NULL DEFAULT 0,
  ADD COLUMN tokens_total          bigint NOT NULL DEFAULT 0,
  ADD COLUMN cached_input_tokens   bigint NOT NULL DEFAULT 0,
  ADD COLUMN cache_hits            bigint NOT NULL DEFAULT 0,
  ADD COLUMN cost                  numeric NOT NULL DEFAULT 0,
  ADD COLUMN cache_savings         numeric NOT NULL DEFAULT 0,
  ADD COLUMN active_day_bits       integer NOT NULL DEFAULT 0,
  ADD COLUMN last_used             timestamptz;
COMMENT ON COLUMN analytics.rollup_user_monthly.active_day_bits IS
  'Bit d-1 is set when local day d of the month has finished events (active days: the bits set)';
ALTER TABLE analytics.rollup_system_models
  ADD COLUMN query_length_sum      bigint NOT NULL DEFAULT 0,
  ADD COLUMN query_length_count    bigint NOT NULL DEFAULT 0,
  ADD COLUMN response_length_sum   bigint NOT NULL DEFAULT 0,
  ADD COLUMN response_length_count bigint NOT NULL DEFAULT 0;
ALTER TABLE analytics.rollup_documents ADD COLUMN last_used timestamptz;
COMMENT ON TABLE analytics.rollup_user_daily IS
  'Folded per-user, per-local-day latency sketches, feedback totals and query and response lengths (sums and counts of the known ones)';
COMMENT ON TABLE analytics.rollup_user_monthly IS
  'Folded per-user, per-local-month latency sketches, feedback totals, query and response lengths (sums and counts of the known ones) and usage (requests, tokens, cost, cache, active days, last event)';
COMMENT ON COLUMN analytics.rollup_documents.last_used IS
  'The latest occurred_at of the day''s events of the document (NULL on rows folded before 1.1 whose raw events were gone at the update)';
COMMENT ON TABLE analytics.rollup_distinct IS
  'Folded distinct conversations, documents, sessions and users per scope and day (user_month_* scopes: per local month, usage_date its first day; a user-day''s conversations are in rollup_conversations; items sorted COLLATE "C", no duplicates), for exact distinct counts';
-- A user-day's conversations are rollup_conversations' ids: stored once.
DELETE FROM analytics.rollup_distinct WHERE scope = 'user_conversation';

CREATE TABLE analytics.rollup_user_labels (
  user_id    text NOT NULL,
  usage_date date NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('query_intent', 'request_type')),
  label      text NOT NULL,
  requests   bigint NOT NULL,
  PRIMARY KEY (user_id, usage_date, kind, label)
);
COMMENT ON TABLE analytics.rollup_user_labels IS
  'Folded per-user requests by local day and query_intent or request_type (kind); events without the label are not counted';

CREATE TABLE analytics.rollup_system_labels (
  usage_date date NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('query_intent', 'request_type')),
  label      text NOT NULL,
  requests   bigint NOT NULL,
  PRIMARY KEY (usage_date, kind, label)
);
COMMENT ON TABLE analytics.rollup_system_labels IS
  'Folded system-wide requests by UTC day and query_intent or request_type (kind)';

CREATE TABLE analytics.rollup_conversations (
  user_id          text NOT NULL,
  usage_date       date NOT NULL,
  conversation_ids text[] NOT NULL,
  requests         bigint[] NOT NULL,
  tokens_total     bigint[] NOT NULL,
  cost             numeric[] NOT NULL,
  first_at         timestamptz[] NOT NULL,
  last_at          timestamptz[] NOT NULL,
  PRIMARY KEY (user_id, usage_date)
);
COMMENT ON TABLE analytics.rollup_conversations IS
  'Folded per-user conversations by local day: ids (sorted COLLATE "C") and, at the same positions, requests, tokens, cost, first and last event';
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_settings
              WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE analytics.rollup_conversations
      ALTER COLUMN conversation_ids SET COMPRESSION lz4, ALTER COLUMN requests SET COMPRESSION lz4,
      ALTER COLUMN tokens_total SET COMPRESSION lz4, ALTER COLUMN cost SET COMPRESSION lz4,
      ALTER COLUMN first_at SET COMPRESSION lz4, ALTER COLUMN last_at SET COMPRESSION lz4;
  END IF;
END
$$;

CREATE TABLE analytics.rollup_document_sections (
  document_id text NOT NULL,
  usage_date  date NOT NULL,
  section     text NOT NULL,
  requests    bigint NOT NULL,
  PRIMARY KEY (document_id, usage_date, section)
);
COMMENT ON TABLE analytics.rollup_document_sections IS
  'Folded per-document references by UTC day and section: the events of the day whose sections_referenced names it (exact)';

ALTER TABLE analytics.rollup_user_labels ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_user_labels_read ON analytics.rollup_user_labels FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_conversations_read ON analytics.rollup_conversations FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_system_labels ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_system_labels_read ON analytics.rollup_system_labels FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_document_sections ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_document_sections_read ON analytics.rollup_document_sections FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));
ALTER POLICY rollup_distinct_read ON analytics.rollup_distinct
  USING ((scope OPERATOR(pg_catalog.=) ANY ('{user_document,user_session,user_month_conversation,user_month_document}')
          AND scope_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id()))
         OR (SELECT analytics.sees_all_rows()));
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_labels', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_system_labels', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_conversations', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_document_sections', '');
REVOKE ALL ON TABLE analytics.rollup_user_labels, analytics.rollup_system_labels,
  analytics.rollup_conversations, analytics.rollup_document_sections FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.rollup_user_labels', 'SELECT'),
  ('*', 'TABLE', 'analytics.rollup_conversations', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.rollup_system_labels', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.rollup_document_sections', 'SELECT'),
  ('admin', 'TABLE', 'analytics.rollup_system_labels', 'SELECT'),
  ('admin', 'TABLE', 'analytics.rollup_document_sections', 'SELECT')
  ON CONFLICT DO NOTHING;

-- The new figures of the events already folded (finished, below the
-- watermark), from the raw log.
INSERT INTO analytics.rollup_user_labels (user_id, usage_date, kind, label, requests)
  SELECT e.user_id, e.usage_date, v.kind, v.label, count(*)
    FROM (SELECT x.* FROM analytics.chat_events x
          WHERE x.status IN ('completed', 'failed')
            AND x.recorded_xid < (SELECT f.watermark FROM analytics.fold_state f)) e,
         LATERAL (VALUES ('query_intent', e.query_intent), ('request_type', e.request_type)) AS v(kind, label)
   WHERE v.label IS NOT NULL
   GROUP BY e.user_id, e.usage_date, v.kind, v.label;
INSERT INTO analytics.rollup_system_labels (usage_date, kind, label, requests)
  SELECT (e.occurred_at AT TIME ZONE 'UTC')::date, v.kind, v.label, count(*)
    FROM (SELECT x.* FROM analytics.chat_events x
          WHERE x.status IN ('completed', 'failed')
            AND x.recorded_xid < (SELECT f.watermark FROM analytics.fold_state f)) e,
         LATERAL (VALUES ('query_intent', e.query_intent), ('request_type', e.request_type)) AS v(kind, label)
   WHERE v.label IS NOT NULL
   GROUP BY (e.occurred_at AT TIME ZONE 'UTC')::date, v.kind, v.label;
INSERT INTO analytics.rollup_conversations
    (user_id, usage_date, conversation_ids, requests, tokens_total, cost, first_at, last_at)
  SELECT g.user_id, g.usage_date, array_agg(g.conversation_id ORDER BY g.conversation_id COLLATE "C"),
         array_agg(g.n ORDER BY g.conversation_id COLLATE "C"), array_agg(g.t ORDER BY g.conversation_id COLLATE "C"),
         array_agg(g.c ORDER BY g.conversation_id COLLATE "C"), array_agg(g.f ORDER BY g.conversation_id COLLATE "C"),
         array_agg(g.l ORDER BY g.conversation_id COLLATE "C")
    FROM (SELECT e.user_id, e.usage_date, e.conversation_id, count(*) AS n,
                 sum(e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens) AS t,
                 sum(e.cost) AS c, min(e.occurred_at) AS f, max(e.occurred_at) AS l
            FROM (SELECT x.* FROM analytics.chat_events x
                   WHERE x.status IN ('completed', 'failed')
                     AND x.recorded_xid < (SELECT f.watermark FROM analytics.fold_state f)) e
           WHERE e.conversation_id IS NOT NULL
           GROUP BY e.user_id, e.usage_date, e.conversation_id) g
   GROUP BY g.user_id, g.usage_date;
INSERT INTO analytics.rollup_document_sections (document_id, usage_date, section, requests)
  SELECT e.document_id, (e.occurred_at AT TIME ZONE 'UTC')::date, s.section, count(DISTINCT e.id)
    FROM (SELECT x.* FROM analytics.chat_events x
          WHERE x.status IN ('completed', 'failed')
            AND x.recorded_xid < (SELECT f.watermark FROM analytics.fold_state f)) e, unnest(e.sections_referenced) AS s(section)
   WHERE e.document_id IS NOT NULL AND s.section IS NOT NULL
   GROUP BY e.document_id, (e.occurred_at AT TIME ZONE 'UTC')::date, s.section;
INSERT INTO analytics.rollup_distinct (scope, scope_id, usage_date, items)
  SELECT 'user_session', e.user_id, e.usage_date,
         array_agg(DISTINCT e.session_id COLLATE "C" ORDER BY e.session_id COLLATE "C")
    FROM (SELECT x.* FROM analytics.chat_events x
          WHERE x.status IN ('completed', 'failed')
            AND x.recorded_xid < (SELECT f.watermark FROM analytics.fold_state f)) e WHERE e.session_id IS NOT NULL
   GROUP BY e.user_id, e.usage_date;
-- The months' usage and distinct sets, from the raw log (the months whose
-- raw events retention dropped keep zeros: the summary shows no row).
UPDATE analytics.rollup_user_monthly r
   SET requests = m.requests, failed = m.failed, tokens_total = m.tokens_total,
       cached_input_tokens = m.cached_input_tokens, cache_hits = m.cache_hits, cost = m.cost,
       cache_savings = m.cache_savings, active_day_bits = m.active_day_bits, last_used = m.last_used
  FROM (SELECT e.user_id, date_trunc('month', e.usage_date::timestamp)::date AS month, count(*) AS requests,
               count(*) FILTER (WHERE e.status = 'failed') AS failed,
               sum(e.input_tokens + e.cached_input_tokens + e.cache_write_tokens + e.output_tokens) AS tokens_total,
               sum(e.cached_input_tokens) AS cached_input_tokens, count(*) FILTER (WHERE e.cache_hit) AS cache_hits,
               sum(e.cost) AS cost, COALESCE(sum(e.cache_savings), 0) AS cache_savings,
               bit_or(1 << (extract(day FROM e.usage_date)::integer - 1)) AS active_day_bits,
               max(e.occurred_at) AS last_used
          FROM (SELECT x.* FROM analytics.chat_events x
                 WHERE x.status IN ('completed', 'failed')
                   AND x.recorded_xid < (SELECT f.watermark FROM analytics.fold_state f)) e
         GROUP BY 1, 2) m
 WHERE r.user_id = m.user_id AND r.month = m.month;
INSERT INTO analytics.rollup_distinct (scope, scope_id, usage_date, items)
  SELECT 'user_month_' || k.kind, e.user_id, date_trunc('month', e.usage_date::timestamp)::date,
         array_agg(DISTINCT k.item COLLATE "C" ORDER BY k.item COLLATE "C")
    FROM (SELECT x.* FROM analytics.chat_events x
          WHERE x.status IN ('completed', 'failed')
            AND x.recorded_xid < (SELECT f.watermark FROM analytics.fold_state f)) e,
         LATERAL (VALUES ('conversation', e.conversation_id), ('document', e.document_id)) AS k(kind, item)
   WHERE k.item IS NOT NULL
   GROUP BY 1, 2, 3;
UPDATE analytics.rollup_documents r SET last_used = m.last_used
  FROM (SELECT e.document_id, (e.occurred_at AT TIME ZONE 'UTC')::date AS usage_date, max(e.occurred_at) AS last_used
          FROM (SELECT x.* FROM analytics.chat_events x
          WHERE x.status IN ('completed', 'failed')
            AND x.recorded_xid < (SELECT f.watermark FROM analytics.fold_state f)) e WHERE e.document_id IS NOT NULL
         GROUP BY 1, 2) m
 WHERE r.document_id = m.document_id AND r.usage_date = m.usage_date;

\ir ../functions/conversations_union.sql

-- The fold's upserts read their rows from fold_rows() (they were arrays).
\ir ../functions/fold_rows.sql

\ir ../functions/refold_range.sql

-- Distinct counts over many sets without unnesting them (issue 17).
\ir ../functions/text_set_count.sql

\ir ../functions/text_set_size.sql

\ir ../functions/user_period_sessions.sql

-- A user-day's conversations are read from rollup_conversations (this also
-- re-parses the body with 1.1's columns of chat_events).
\ir ../functions/user_period_distinct.sql

\ir ../functions/user_period_lengths.sql

\ir ../functions/user_months_lengths.sql

\ir ../functions/user_period_labels.sql

-- The views gain their new columns at the end.
\ir ../views/user_daily_usage.sql

\ir ../views/user_monthly_usage.sql

\ir ../views/document_usage.sql

\ir ../views/system_daily_metrics.sql

\ir ../views/conversation_usage.sql

\ir ../functions/conversation_averages.sql

-- The materialized views become the summary tables refresh_all_views()
-- keeps row by row, with the seed's columns (filled by the refresh below);
-- user_monthly_summary is made again over the new one.
DROP VIEW analytics.user_monthly_summary;
DROP MATERIALIZED VIEW analytics.mv_user_monthly_summary;
DROP MATERIALIZED VIEW analytics.mv_document_popularity;
\ir ../summaries.sql

-- ==== issue 14: organizations and members ====
\ir ../organizations.sql

-- ==== issue 14: API request metering and widgets ====
-- The append-only guard names the log of its trigger argument; partitions
-- of both logs; the fold, rebuild, restore repair, retention, payload
-- retention and verification cover API requests (their files are included
-- above or here).
\ir ../functions/guard_append_only.sql
\ir ../functions/ensure_partitions.sql
\ir ../functions/repair_after_restore.sql
\ir ../api_requests.sql
-- Granted to nobody: no PUBLIC rights, as after a fresh install's REVOKE.
REVOKE ALL ON analytics.api_request_keys, analytics.api_requests_default FROM PUBLIC;
REVOKE ALL ON SEQUENCE analytics.api_requests_id_seq FROM PUBLIC;
-- The monthly partitions of api_requests are not made here (they would be
-- members of the extension): ensure_partitions() makes them, as it makes
-- those of chat_events; until then requests wait in the default partition.
-- ==== issue 14: API keys and rate limits ====
\ir ../api_keys.sql

-- ==== issue 14: organization plans ====
/*
 * A subscription binds a user or an organization (subscriptions.org_id,
 * user_id NULL; primary key subscription_id); a request with org_id counts
 * in org_usage_counters (pooled and per member, backend slots) against the
 * organization's plan and the member's caps, and the user's own quota
 * leaves it out.  Notifications name their organization (org_id, in the
 * primary key).  The organizations' counters start from the log: every
 * request with org_id recorded before this update.
 */
ALTER TABLE analytics.subscriptions ADD COLUMN org_id text REFERENCES analytics.organizations (org_id);
ALTER TABLE analytics.subscriptions DROP CONSTRAINT subscriptions_pkey;
ALTER TABLE analytics.subscriptions ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE analytics.subscriptions ADD PRIMARY KEY (subscription_id);
ALTER TABLE analytics.subscriptions
  ADD CONSTRAINT subscriptions_subject_check CHECK ((user_id IS NULL) <> (org_id IS NULL));
CREATE INDEX subscriptions_org_lookup_idx
  ON analytics.subscriptions (org_id, starts_at DESC) WHERE org_id IS NOT NULL;
COMMENT ON TABLE analytics.subscriptions IS
  'Binds a user or an organization (exactly one of user_id, org_id) to a plan for [starts_at, ends_at); a user''s time_zone decides the user''s day and month buckets, an organization''s buckets follow analytics.organizations.time_zone';
COMMENT ON COLUMN analytics.subscriptions.org_id IS
  'The organization subscribed (user_id NULL): requests with this org_id count against the plan, pooled over its members';
DROP POLICY subscriptions_read ON analytics.subscriptions;
CREATE POLICY subscriptions_read ON analytics.subscriptions FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));

\ir ../functions/org_subject_at.sql

CREATE TABLE analytics.org_usage_counters (
  org_id              text NOT NULL,
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
  PRIMARY KEY (org_id, user_id, usage_date, slot)
) WITH (fillfactor = 50);
CREATE INDEX org_usage_counters_member_idx ON analytics.org_usage_counters (user_id, usage_date)
  WHERE user_id <> '';
COMMENT ON TABLE analytics.org_usage_counters IS
  'Exact per-organization, per-local-day counters of the requests made with its org_id: user_id '''' the pooled total, else the member''s share; sum the slots';
ALTER TABLE analytics.org_usage_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY org_usage_counters_read ON analytics.org_usage_counters FOR SELECT
  USING ((user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id()) AND user_id OPERATOR(pg_catalog.<>) '')
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}'))
         OR (user_id OPERATOR(pg_catalog.=) '' AND org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}'))));
SELECT pg_catalog.pg_extension_config_dump('analytics.org_usage_counters', '');
REVOKE ALL ON TABLE analytics.org_usage_counters FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.org_usage_counters', 'SELECT')
  ON CONFLICT DO NOTHING;

\ir ../functions/org_counters_add.sql

\ir ../functions/org_counters_of_log.sql

-- The requests with org_id recorded so far, pooled and per member (slot 0).
INSERT INTO analytics.org_usage_counters AS c (org_id, user_id, usage_date, slot, requests, failed,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cache_hits,
    cost, cache_savings, response_time_sum, response_time_count, pending_requests, pending_tokens,
    pending_cost, rejected)
SELECT g.org_id, m.u, g.usage_date, 0, sum(g.requests), sum(g.failed), sum(g.input_tokens),
       sum(g.cached_input_tokens), sum(g.cache_write_tokens), sum(g.output_tokens), sum(g.reasoning_tokens),
       sum(g.cache_hits), sum(g.cost), sum(g.cache_savings), sum(g.response_time_sum), sum(g.response_time_count),
       sum(g.pending_requests), sum(g.pending_tokens), sum(g.pending_cost), sum(g.rejected)
  FROM analytics.org_counters_of_log('-infinity', 'infinity') g,
       LATERAL (VALUES (g.user_id), ('')) AS m(u)
 GROUP BY g.org_id, m.u, g.usage_date;

ALTER TABLE analytics.notifications ADD COLUMN org_id text NOT NULL DEFAULT '';
ALTER TABLE analytics.notifications DROP CONSTRAINT notifications_pkey;
ALTER TABLE analytics.notifications ADD PRIMARY KEY (user_id, org_id, limit_name, period_start, threshold);
COMMENT ON COLUMN analytics.notifications.org_id IS
  'The organization the row is for (user_id ''''): its plan''s thresholds, its subscription expiring, api_key_created and api_key_expiring; '''' for a user''s rows';
DROP POLICY notifications_read ON analytics.notifications;
CREATE POLICY notifications_read ON analytics.notifications FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR (org_id OPERATOR(pg_catalog.<>) ''
             AND (org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
                  OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')))));

\ir ../views/org_daily_usage.sql

\ir ../views/org_monthly_usage.sql

-- Owners and admins of an organization (by identity) read its events.
DROP POLICY chat_events_read ON analytics.chat_events;
CREATE POLICY chat_events_read ON analytics.chat_events FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));

-- ==== issue 14: organization rollups ====
/*
 * Per organization and its local day: latency and time-to-first-token
 * sketches, feedback and lengths of the events with org_id, kept by the
 * fold (rollup_org_daily).  The events already folded are added here from
 * the raw log (under the fold lock), so verify_rollups stays empty.
 */
SELECT 1 FROM analytics.fold_state FOR UPDATE;
CREATE TABLE analytics.rollup_org_daily (
  org_id         text NOT NULL,
  usage_date     date NOT NULL,
  latency        analytics.latency_sketch,
  ttft           analytics.latency_sketch,
  feedback_sum   bigint NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  query_length_sum      bigint NOT NULL DEFAULT 0,
  query_length_count    bigint NOT NULL DEFAULT 0,
  response_length_sum   bigint NOT NULL DEFAULT 0,
  response_length_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, usage_date)
);
COMMENT ON TABLE analytics.rollup_org_daily IS
  'Folded per-organization, per-local-day latency sketches, feedback totals and query and response lengths of the events with its org_id (its counts, tokens and cost: org_usage_counters)';
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_settings
              WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE analytics.rollup_org_daily
      ALTER COLUMN latency SET COMPRESSION lz4, ALTER COLUMN ttft SET COMPRESSION lz4;
  END IF;
END
$$;
ALTER TABLE analytics.rollup_org_daily ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_org_daily_read ON analytics.rollup_org_daily FOR SELECT
  USING ((SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_org_daily', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.rollup_org_daily', 'SELECT')
  ON CONFLICT DO NOTHING;
REVOKE ALL ON TABLE analytics.rollup_org_daily FROM PUBLIC;
INSERT INTO analytics.rollup_org_daily (org_id, usage_date, latency, ttft, feedback_sum, feedback_count,
    query_length_sum, query_length_count, response_length_sum, response_length_count)
  SELECT e.org_id, e.usage_date, analytics.latency_sketch_agg(e.response_time_ms),
         analytics.latency_sketch_agg(e.time_to_first_token_ms), COALESCE(sum(e.feedback_rating), 0),
         count(e.feedback_rating), COALESCE(sum(e.user_query_length), 0), count(e.user_query_length),
         COALESCE(sum(e.ai_response_length), 0), count(e.ai_response_length)
    FROM analytics.chat_events e
   WHERE e.status IN ('completed', 'failed') AND e.org_id IS NOT NULL
     AND e.recorded_xid < (SELECT f.watermark FROM analytics.fold_state f)
   GROUP BY e.org_id, e.usage_date;

\ir ../functions/org_dashboard.sql

-- ==== issue 16: scale-out on Citus ====
\ir ../functions/distribute.sql

-- ==== issue 15: usage-based billing ====
/*
 * Plans get a currency, a yearly price, trial days and payment terms;
 * subscriptions a billing status, cancel_at_period_end, a billing anchor
 * and a trial end.  billing.sql makes the currencies, meters, plan charges,
 * credit grants, invoices and their lines, invoice numbers and credit
 * consumption (none existed in 1.0), and the billing functions.
 */
ALTER TABLE analytics.plans
  ADD COLUMN currency text NOT NULL DEFAULT 'USD',
  ADD COLUMN price_per_year numeric CHECK (price_per_year >= 0 AND price_per_year < 'Infinity'),
  ADD COLUMN trial_days integer NOT NULL DEFAULT 0 CHECK (trial_days BETWEEN 0 AND 730),
  ADD COLUMN payment_terms_days integer NOT NULL DEFAULT 14 CHECK (payment_terms_days BETWEEN 0 AND 365);
COMMENT ON COLUMN analytics.plans.price_per_month IS
  'Base fee of a monthly billing period (billing_cycle monthly), in currency';
COMMENT ON COLUMN analytics.plans.billing_cycle IS
  'Length of a billing period: monthly or yearly, anchored on the subscription''s billing anchor (README "Billing")';
COMMENT ON COLUMN analytics.plans.included_units IS
  'Shorthand for a charge on the meter requests (block size 1): units included per billing period; used when the plan has no plan_charges row for requests';
COMMENT ON COLUMN analytics.plans.overage_unit_price IS
  'Shorthand for a charge on the meter requests (block size 1): price of each request beyond included_units; used when the plan has no plan_charges row for requests';
COMMENT ON COLUMN analytics.plans.currency IS
  'ISO 4217 code (analytics.currencies) of every price of the plan and of its invoices';
COMMENT ON COLUMN analytics.plans.price_per_year IS
  'Base fee of a yearly billing period (billing_cycle yearly); NULL: 12 * price_per_month';
COMMENT ON COLUMN analytics.plans.trial_days IS
  'Days of trial a new subscription gets (its trial_ends_at, status trialing): no base fee and no usage billed before the trial ends';
COMMENT ON COLUMN analytics.plans.payment_terms_days IS
  'An invoice is due this many days after the end of its period';

ALTER TABLE analytics.subscriptions
  ADD COLUMN status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('trialing', 'active', 'past_due', 'cancelled', 'unpaid')),
  ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false,
  ADD COLUMN cancelled_at timestamptz,
  ADD COLUMN billing_anchor timestamptz,
  ADD COLUMN trial_ends_at timestamptz,
  ADD CONSTRAINT subscriptions_trial_check CHECK (trial_ends_at IS NULL OR trial_ends_at > starts_at);
COMMENT ON COLUMN analytics.subscriptions.status IS
  'Billing status: trialing, active, past_due (a finalized invoice is overdue), cancelled, unpaid (set by the operator); admission does not read it';
COMMENT ON COLUMN analytics.subscriptions.cancel_at_period_end IS
  'The subscription ends at the end of its current billing period (ends_at is set to it)';
COMMENT ON COLUMN analytics.subscriptions.cancelled_at IS
  'When the cancellation was asked for';
COMMENT ON COLUMN analytics.subscriptions.billing_anchor IS
  'Billing periods start on this instant''s local day and its monthly or yearly anniversaries; NULL: trial_ends_at, else starts_at';
COMMENT ON COLUMN analytics.subscriptions.trial_ends_at IS
  'End of the trial (from plans.trial_days at subscription); nothing is billed for the local days before it';

\ir ../billing.sql
-- Granted to nobody: no PUBLIC rights, as after a fresh install's REVOKE.
REVOKE ALL ON analytics.currencies, analytics.meters, analytics.plan_charges, analytics.plan_charge_tiers,
  analytics.credit_grants, analytics.invoices, analytics.invoice_lines, analytics.invoice_number_counters,
  analytics.credit_consumptions FROM PUBLIC;
REVOKE ALL ON SEQUENCE analytics.credit_grants_grant_id_seq, analytics.invoices_invoice_id_seq,
  analytics.credit_consumptions_consumption_id_seq FROM PUBLIC;

-- ==== issue 15: invoice export, billing outbox, reports, billing warnings, credits ====
/*
 * billing_ops.sql (none of it existed in 1.0): invoice_json, the billing
 * outbox (table, the deferred trigger on invoices, claim and acknowledge),
 * the revenue reports, evaluate_billing_warnings (its job is in
 * job_definitions, included above), grant_credits and credit_balance.
 */
\ir ../billing_ops.sql
-- Granted to nobody: no PUBLIC rights, as after a fresh install's REVOKE.
REVOKE ALL ON analytics.billing_outbox FROM PUBLIC;
REVOKE ALL ON SEQUENCE analytics.billing_outbox_outbox_id_seq FROM PUBLIC;
-- ==== issue 17: the batch path and history loads ====
-- record_chat_events (C now) is included above with its latest body.
-- The PL/pgSQL batch's helper is gone with it (the C batch names the
-- element and key of a bad value itself).
DROP FUNCTION analytics.raise_bad_key(integer, text, text);
\ir ../functions/ensure_event_partitions.sql

\ir ../functions/import_rows.sql

\ir ../functions/import_chat_events.sql

-- ==== issue 16: reads and end-user RLS on a Citus cluster ====
CREATE TABLE analytics.identity_keys (
  singleton  boolean NOT NULL DEFAULT true PRIMARY KEY CHECK (singleton),
  key        bytea NOT NULL CHECK (pg_catalog.length(key) >= 16),
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE analytics.identity_keys IS
  'The key of the HMAC that signs the identity act_as sends to Citus workers (usage_analytics.identity_token); written by analytics.distribute() on every node';
ALTER TABLE analytics.identity_keys ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE analytics.identity_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('analytics.identity_keys', '');

\ir ../functions/apply_access.sql

-- ==== issue 16: the fold per shard on the node that holds it ====
CREATE TABLE analytics.fold_shard_state (
  shard_id  bigint PRIMARY KEY,
  node      text NOT NULL,
  claim     bigint NOT NULL,
  events    bigint NOT NULL,
  folded_at timestamptz NOT NULL
);
COMMENT ON TABLE analytics.fold_shard_state IS
  'Citus only: the last fold of each of this node''s shards of chat_events: the node (host:port), the claim value (the coordinator''s negated transaction id), the events folded, when';
ALTER TABLE analytics.fold_shard_state ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE analytics.fold_shard_state FROM PUBLIC;

\ir ../functions/fold_shard_range.sql

\ir ../functions/fold_shard.sql

\ir ../functions/fold_node.sql

\ir ../functions/fold_shards.sql

-- fold() and distribute() changed in place: included above (fold.sql in
-- the 1.1 fold's section, distribute.sql in issue 16's first).

-- ==== end of 1.1: what every bound role holds now ====
-- Roles bound before this update get what their kind holds now (and
-- organization-scoped admins lose what they may no longer change).
SELECT analytics.apply_privileges(b.role_name, b.kind, b.org_id IS NOT NULL, true)
  FROM analytics.role_bindings b
 WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = b.role_name);
SELECT analytics.refresh_all_views();

