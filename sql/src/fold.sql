/*-------------------------------------------------------------------------
 * fold.sql
 *    The rollups and the fold that keeps them (fold_range in C: aggregation in
 *    fold_aggregate.c, writing in fold_write.c), the per-user read helpers that
 *    add the unfolded tail, and verification and repair.
 *-------------------------------------------------------------------------
 */

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

\ir functions/system_identifier.sql

CREATE TABLE analytics.fold_state (
  singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  watermark         bigint NOT NULL DEFAULT 0,
  folded_at         timestamptz,
  events_folded     bigint NOT NULL DEFAULT 0,
  retained_from     timestamptz,
  system_identifier bigint NOT NULL DEFAULT analytics.system_identifier(),
  needs_repair      boolean NOT NULL DEFAULT false,
  payloads_cleared_before timestamptz
);
INSERT INTO analytics.fold_state DEFAULT VALUES;
COMMENT ON TABLE analytics.fold_state IS
  'The fold''s progress: events with recorded_xid below watermark are in the rollups; raw events before retained_from were removed by retention';
COMMENT ON COLUMN analytics.fold_state.needs_repair IS
  'Set when a dump from another cluster was restored: its recorded_xid values are foreign, so the next fold rebuilds the rollups of the raw months and restamps the log';
COMMENT ON COLUMN analytics.fold_state.payloads_cleared_before IS
  'Events that occurred before this have had their free text cleared by clear_payloads()';

\ir functions/fold_state_restore.sql
CREATE TRIGGER fold_state_restore BEFORE INSERT ON analytics.fold_state
  FOR EACH ROW EXECUTE FUNCTION analytics.fold_state_restore();

\ir functions/fold_watermark.sql

-- Everyone may know how far the fold has come.
ALTER TABLE analytics.fold_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY fold_state_read ON analytics.fold_state FOR SELECT USING (true);
SELECT pg_catalog.pg_extension_config_dump('analytics.fold_state', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.fold_state', 'SELECT')
  ON CONFLICT DO NOTHING;

-- On a Citus cluster, each node's record of the last fold of each of its
-- shards of chat_events (fold_shard, in the transaction that folds the
-- shard); fold_shards() on the coordinator reads every node's.  Local to
-- each node, as fold_state; empty on a single node.
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

-- Per user and local day: latency and time-to-first-token sketches, feedback.
CREATE TABLE analytics.rollup_user_daily (
  user_id        text NOT NULL,
  usage_date     date NOT NULL,
  latency        analytics.latency_sketch,
  ttft           analytics.latency_sketch,
  feedback_sum   bigint NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  query_length_sum      bigint NOT NULL DEFAULT 0,
  query_length_count    bigint NOT NULL DEFAULT 0,
  response_length_sum   bigint NOT NULL DEFAULT 0,
  response_length_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, usage_date)
);
COMMENT ON TABLE analytics.rollup_user_daily IS
  'Folded per-user, per-local-day latency sketches, feedback totals and query and response lengths (sums and counts of the known ones)';

-- The same per local month, with the month's usage: a month's figures for
-- every user read one row per user (mv_user_monthly_summary).
CREATE TABLE analytics.rollup_user_monthly (
  user_id        text NOT NULL,
  month          date NOT NULL,
  latency        analytics.latency_sketch,
  ttft           analytics.latency_sketch,
  feedback_sum   bigint NOT NULL DEFAULT 0,
  feedback_count bigint NOT NULL DEFAULT 0,
  query_length_sum      bigint NOT NULL DEFAULT 0,
  query_length_count    bigint NOT NULL DEFAULT 0,
  response_length_sum   bigint NOT NULL DEFAULT 0,
  response_length_count bigint NOT NULL DEFAULT 0,
  requests              bigint NOT NULL DEFAULT 0,
  failed                bigint NOT NULL DEFAULT 0,
  tokens_total          bigint NOT NULL DEFAULT 0,
  cached_input_tokens   bigint NOT NULL DEFAULT 0,
  cache_hits            bigint NOT NULL DEFAULT 0,
  cost                  numeric NOT NULL DEFAULT 0,
  cache_savings         numeric NOT NULL DEFAULT 0,
  active_day_bits       integer NOT NULL DEFAULT 0,
  last_used             timestamptz,
  PRIMARY KEY (user_id, month)
);
COMMENT ON TABLE analytics.rollup_user_monthly IS
  'Folded per-user, per-local-month latency sketches, feedback totals, query and response lengths (sums and counts of the known ones) and usage (requests, tokens, cost, cache, active days, last event)';
COMMENT ON COLUMN analytics.rollup_user_monthly.active_day_bits IS
  'Bit d-1 is set when local day d of the month has finished events (active days: the bits set)';

-- The same per organization and its local day, for the events with org_id:
-- an organization's percentiles, feedback and lengths (every member reads
-- them: they are totals).
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
  last_used      timestamptz,
  PRIMARY KEY (document_id, usage_date)
);
COMMENT ON TABLE analytics.rollup_documents IS 'Folded per-document usage by UTC day';
COMMENT ON COLUMN analytics.rollup_documents.last_used IS
  'The latest occurred_at of the day''s events of the document (NULL on rows folded before 1.1 whose raw events were gone at the update)';

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
  query_length_sum      bigint NOT NULL DEFAULT 0,
  query_length_count    bigint NOT NULL DEFAULT 0,
  response_length_sum   bigint NOT NULL DEFAULT 0,
  response_length_count bigint NOT NULL DEFAULT 0,
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

-- Per user, local day and label of a kind (query_intent, request_type).
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

-- The same for the whole system by UTC day.
CREATE TABLE analytics.rollup_system_labels (
  usage_date date NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('query_intent', 'request_type')),
  label      text NOT NULL,
  requests   bigint NOT NULL,
  PRIMARY KEY (usage_date, kind, label)
);
COMMENT ON TABLE analytics.rollup_system_labels IS
  'Folded system-wide requests by UTC day and query_intent or request_type (kind)';

-- Per user and local day, the day's conversations (seed 004's figures):
-- ids sorted bytewise without duplicates, each conversation's figures at
-- the same position of the other arrays (one row a user-day, as the
-- distinct sets; conversations_union merges two).
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

-- Per document, UTC day and section of sections_referenced: exact counts.
CREATE TABLE analytics.rollup_document_sections (
  document_id text NOT NULL,
  usage_date  date NOT NULL,
  section     text NOT NULL,
  requests    bigint NOT NULL,
  PRIMARY KEY (document_id, usage_date, section)
);
COMMENT ON TABLE analytics.rollup_document_sections IS
  'Folded per-document references by UTC day and section: the events of the day whose sections_referenced names it (exact)';

-- Distinct items per scope and day, for exact distinct counts, as one
-- array per scope and day sorted bytewise without duplicates:
--   user_document, user_session (scope_id = user, local day; a user-day's
--     conversations are rollup_conversations.conversation_ids)
--   user_month_conversation, user_month_document (scope_id = user, the first
--     day of a local month)
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
  'Folded distinct conversations, documents, sessions and users per scope and day (user_month_* scopes: per local month, usage_date its first day; a user-day''s conversations are in rollup_conversations; items sorted COLLATE "C", no duplicates), for exact distinct counts';

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
    ALTER TABLE analytics.rollup_org_daily
      ALTER COLUMN latency SET COMPRESSION lz4, ALTER COLUMN ttft SET COMPRESSION lz4;
    ALTER TABLE analytics.rollup_documents ALTER COLUMN latency SET COMPRESSION lz4;
    ALTER TABLE analytics.rollup_system_models ALTER COLUMN latency SET COMPRESSION lz4;
    ALTER TABLE analytics.rollup_distinct ALTER COLUMN items SET COMPRESSION lz4;
    ALTER TABLE analytics.rollup_conversations
      ALTER COLUMN conversation_ids SET COMPRESSION lz4, ALTER COLUMN requests SET COMPRESSION lz4,
      ALTER COLUMN tokens_total SET COMPRESSION lz4, ALTER COLUMN cost SET COMPRESSION lz4,
      ALTER COLUMN first_at SET COMPRESSION lz4, ALTER COLUMN last_at SET COMPRESSION lz4;
  END IF;
END
$$;

-- Per-user rollups are the user's; document and system rollups are for app
-- backends and admins.
ALTER TABLE analytics.rollup_user_daily ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_user_daily_read ON analytics.rollup_user_daily FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_org_daily ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_org_daily_read ON analytics.rollup_org_daily FOR SELECT
  USING ((SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_org_daily', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.rollup_org_daily', 'SELECT')
  ON CONFLICT DO NOTHING;
ALTER TABLE analytics.rollup_user_monthly ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_user_monthly_read ON analytics.rollup_user_monthly FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_user_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_user_models_read ON analytics.rollup_user_models FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_user_categories ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_user_categories_read ON analytics.rollup_user_categories FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_user_labels ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_user_labels_read ON analytics.rollup_user_labels FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_conversations_read ON analytics.rollup_conversations FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));
-- Per-user scopes are the user's; document and system scopes are for
-- app backends and admins.
ALTER TABLE analytics.rollup_distinct ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_distinct_read ON analytics.rollup_distinct FOR SELECT
  USING ((scope OPERATOR(pg_catalog.=) ANY ('{user_document,user_session,user_month_conversation,user_month_document}')
          AND scope_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id()))
         OR (SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_documents_read ON analytics.rollup_documents FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_system_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_system_models_read ON analytics.rollup_system_models FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_system_labels ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_system_labels_read ON analytics.rollup_system_labels FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));
ALTER TABLE analytics.rollup_document_sections ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_document_sections_read ON analytics.rollup_document_sections FOR SELECT
  USING ((SELECT analytics.sees_all_rows()));
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_daily', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_models', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_monthly', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_categories', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_documents', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_system_models', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_distinct', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_user_labels', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_system_labels', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_conversations', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_document_sections', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.rollup_user_daily', 'SELECT'),
  ('*', 'TABLE', 'analytics.rollup_user_monthly', 'SELECT'),
  ('*', 'TABLE', 'analytics.rollup_user_models', 'SELECT'),
  ('*', 'TABLE', 'analytics.rollup_user_categories', 'SELECT'),
  ('*', 'TABLE', 'analytics.rollup_distinct', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.rollup_documents', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.rollup_system_models', 'SELECT'),
  ('admin', 'TABLE', 'analytics.rollup_documents', 'SELECT'),
  ('admin', 'TABLE', 'analytics.rollup_system_models', 'SELECT'),
  ('*', 'TABLE', 'analytics.rollup_user_labels', 'SELECT'),
  ('*', 'TABLE', 'analytics.rollup_conversations', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.rollup_system_labels', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.rollup_document_sections', 'SELECT'),
  ('admin', 'TABLE', 'analytics.rollup_system_labels', 'SELECT'),
  ('admin', 'TABLE', 'analytics.rollup_document_sections', 'SELECT')
  ON CONFLICT DO NOTHING;

\ir functions/text_set_union.sql

\ir functions/text_set_count.sql

\ir functions/text_set_size.sql

\ir functions/conversations_union.sql

-- The one rollup delta of a folded event (feedback, corrections).
\ir functions/rollups_add.sql

/*
 * Fold the events with recorded_xid in [lo, hi) (and, for a rebuild, a
 * date range: local days for per-user rollups, UTC days for the others)
 * into the rollups.  Returns the number of events folded.  Internal.
 */
\ir functions/fold_rows.sql

\ir functions/fold_range.sql

-- The fold on a Citus cluster, per shard on the node that holds it.
\ir functions/fold_shard_range.sql

\ir functions/fold_shard.sql

\ir functions/fold_node.sql

\ir functions/fold.sql

\ir functions/fold_shards.sql

/* Per-user views over counters and rollups.  Figures of not yet folded
 * events come from the unfolded tail (index on user_id, recorded_xid), so
 * every per-user figure reads its own writes. */

\ir functions/unfolded_events.sql

\ir functions/user_period_latency.sql

\ir functions/user_months_latency.sql

\ir functions/user_period_distinct.sql

\ir functions/user_period_sessions.sql

\ir functions/user_period_lengths.sql

\ir functions/user_months_lengths.sql

\ir functions/user_period_labels.sql

/* ------------------------------------------------------------------------
 * Verification and repair
 * ------------------------------------------------------------------------ */

\ir functions/rollup_comparisons.sql

\ir functions/verify_rollups.sql

\ir functions/refold_range.sql

\ir functions/rebuild_rollups.sql

\ir functions/repair_after_restore.sql
