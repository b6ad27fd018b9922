/*-------------------------------------------------------------------------
 * events.sql
 *    The raw log: chat_events (partitioned by month, append-only), its
 *    partitions, idempotency keys and the write path (record_chat_event,
 *    record_chat_events; C).
 *-------------------------------------------------------------------------
 */

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
  settled_at              timestamptz,
  priced_model            text,
  model_version           text,
  user_query_length       integer CHECK (user_query_length BETWEEN 0 AND 100000000),
  ai_response_length      integer CHECK (ai_response_length BETWEEN 0 AND 100000000),
  complexity              text,
  ip_address              inet,
  user_agent              text
) PARTITION BY RANGE (occurred_at);
ALTER SEQUENCE analytics.chat_events_id_seq OWNED BY analytics.chat_events.id;
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
COMMENT ON COLUMN analytics.chat_events.priced_model IS
  'The price-book model that priced the event when it is not the name as sent (an alias or a normalised name); NULL when model itself is in the price book or the cost was provided';
COMMENT ON COLUMN analytics.chat_events.model_version IS
  'The model version the provider reports (e.g. a dated snapshot), as sent; NULL when unknown';
COMMENT ON COLUMN analytics.chat_events.user_query_length IS 'Characters of the user''s query; NULL when unknown';
COMMENT ON COLUMN analytics.chat_events.ai_response_length IS 'Characters of the response; NULL when unknown';
COMMENT ON COLUMN analytics.chat_events.complexity IS 'The application''s label of the request''s complexity (e.g. low, medium, high)';
COMMENT ON COLUMN analytics.chat_events.ip_address IS
  'The end user''s address as the application saw it; cleared with the free text by payload retention';
COMMENT ON COLUMN analytics.chat_events.user_agent IS
  'The end user''s client as the application saw it; cleared with the free text by payload retention';

/*
 * Append-only without holes: the guard triggers fire also under
 * session_replication_role = replica, and every partition refuses TRUNCATE
 * of its own (a statement trigger on the parent does not cover a
 * partition truncated by name).
 */
\ir functions/guard_append_only.sql

\ir functions/distributed.sql

\ir functions/guard_partition.sql

\ir functions/index_partition_lookups.sql

\ir functions/index_partition.sql

-- Catch-all partition: an event for a month without a partition is never lost;
-- analytics.ensure_partitions() moves such rows into their month.
CREATE TABLE analytics.chat_events_default PARTITION OF analytics.chat_events DEFAULT;
SELECT analytics.index_partition('analytics.chat_events_default');
CREATE TRIGGER chat_events_append_only
  BEFORE UPDATE OR DELETE ON analytics.chat_events
  FOR EACH ROW EXECUTE FUNCTION analytics.guard_append_only();
CREATE TRIGGER chat_events_no_truncate
  BEFORE TRUNCATE ON analytics.chat_events
  FOR EACH STATEMENT EXECUTE FUNCTION analytics.guard_append_only();
ALTER TABLE analytics.chat_events ENABLE ALWAYS TRIGGER chat_events_append_only;
ALTER TABLE analytics.chat_events ENABLE ALWAYS TRIGGER chat_events_no_truncate;

-- End users read their own events; app backends and admins all events (org
-- admins: their organization's).  No write policies: nobody but the
-- extension's functions writes.
ALTER TABLE analytics.chat_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY chat_events_read ON analytics.chat_events FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.chat_events_default', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.chat_events_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.chat_events', 'SELECT')
  ON CONFLICT DO NOTHING;

/* ------------------------------------------------------------------------
 * Partitions
 * ------------------------------------------------------------------------ */

\ir functions/ensure_partitions.sql

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
-- Internal: RLS on and no policy at all.
ALTER TABLE analytics.request_keys ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('analytics.request_keys', '');

/* ------------------------------------------------------------------------
 * Write path (C)
 * ------------------------------------------------------------------------ */

\ir functions/record_chat_event.sql

\ir functions/record_chat_event_keys.sql

\ir functions/record_chat_events.sql

-- History loads (issue 17): the partitions of past months, then the batch path.
\ir functions/ensure_event_partitions.sql

\ir functions/import_rows.sql

\ir functions/import_chat_events.sql

-- The ledger check of the write path, for SQL callers (corrections).
\ir functions/check_ledger.sql
