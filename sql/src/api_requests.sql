/*-------------------------------------------------------------------------
 * api_requests.sql
 *    API-request metering (seed 002): widgets, the raw log of non-LLM API
 *    traffic (api_requests, partitioned by month, append-only), its
 *    idempotency keys, the write path (record_api_request), the rollups per
 *    organization, API key, endpoint and UTC day and per widget and UTC day
 *    (folded by analytics.fold(), fold_api_requests), and the read-your-writes
 *    views and functions over them.  Every table carries org_id first in its
 *    keys (README "Tenancy model").
 *-------------------------------------------------------------------------
 */

/*
 * Who reads an organization's metering besides sees_all_rows() and the
 * roles of admin_org_ids(): the identity (current_user_id()) when it is an
 * owner or admin of the organization.
 */

/* ------------------------------------------------------------------------
 * Widgets
 * ------------------------------------------------------------------------ */

CREATE TABLE analytics.widgets (
  org_id          text NOT NULL REFERENCES analytics.organizations (org_id),
  widget_id       text NOT NULL CHECK (widget_id <> '' AND pg_catalog.octet_length(widget_id) <= 256),
  type            text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_-]{0,63}$'),
  name            text NOT NULL CHECK (name <> '' AND pg_catalog.octet_length(name) <= 128),
  allowed_domains text[] NOT NULL DEFAULT '{}' CHECK (pg_catalog.cardinality(allowed_domains) <= 100),
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'archived')),
  settings        jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(settings) = 'object'),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (org_id, widget_id)
);
COMMENT ON TABLE analytics.widgets IS
  'Embeddable widgets of an organization: type, name, the domains it may be embedded on, status (active, paused, archived) and settings; written by create_widget and update_widget';
COMMENT ON COLUMN analytics.widgets.allowed_domains IS
  'Host names (lower case, optional leading "*." for subdomains, optional :port) the application lets embed the widget; empty: any';
ALTER TABLE analytics.widgets ENABLE ROW LEVEL SECURITY;
CREATE POLICY widgets_read ON analytics.widgets FOR SELECT
  USING ((SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.widgets', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.widgets', 'SELECT')
  ON CONFLICT DO NOTHING;

\ir functions/check_widget_domains.sql

\ir functions/create_widget.sql

\ir functions/update_widget.sql

/* ------------------------------------------------------------------------
 * The raw log of API requests
 * ------------------------------------------------------------------------ */

CREATE SEQUENCE analytics.api_requests_id_seq AS bigint;

CREATE TABLE analytics.api_requests (
  id               bigint NOT NULL DEFAULT pg_catalog.nextval('analytics.api_requests_id_seq'),
  org_id           text NOT NULL CHECK (org_id <> ''),
  occurred_at      timestamptz NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  endpoint         text NOT NULL CHECK (endpoint <> ''),
  method           text NOT NULL
                   CHECK (method IN ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE')),
  status_code      smallint NOT NULL CHECK (status_code BETWEEN 100 AND 599),
  response_time_ms integer CHECK (response_time_ms BETWEEN 0 AND 86400000),
  cached           boolean NOT NULL DEFAULT false,
  widget_id        text,
  billable_units   bigint NOT NULL DEFAULT 0 CHECK (billable_units BETWEEN 0 AND 1000000000),
  api_key_id       bigint CHECK (api_key_id > 0),
  user_id          text,
  request_id       text,
  origin           text,
  country_code     text CHECK (country_code ~ '^[A-Z]{2}$'),
  ip_address       inet,
  user_agent       text,
  metadata         jsonb CHECK (metadata IS NULL OR pg_catalog.jsonb_typeof(metadata) = 'object'),
  recorded_xid     bigint NOT NULL
) PARTITION BY RANGE (occurred_at);
ALTER SEQUENCE analytics.api_requests_id_seq OWNED BY analytics.api_requests.id;
COMMENT ON TABLE analytics.api_requests IS
  'Append-only raw log of non-LLM API requests (one row per request an API gateway served), partitioned by UTC month of occurred_at; written only by record_api_request';
COMMENT ON COLUMN analytics.api_requests.endpoint IS
  'The route as the gateway names it (a template such as /v1/forecast, not a URL with ids: rollups are per endpoint)';
COMMENT ON COLUMN analytics.api_requests.billable_units IS
  'Units the request bills (widget impressions, ...); 0 for a request that bills nothing';
COMMENT ON COLUMN analytics.api_requests.api_key_id IS
  'The API key of the request (analytics.api_keys.key_id of the organization; not a foreign key: keys are revoked, the log stays)';
COMMENT ON COLUMN analytics.api_requests.user_id IS
  'The end user the request acted for, when the application knows one';
COMMENT ON COLUMN analytics.api_requests.country_code IS 'ISO 3166-1 alpha-2 code of the client (from IP geolocation)';
COMMENT ON COLUMN analytics.api_requests.ip_address IS 'The client''s address; cleared by payload retention';
COMMENT ON COLUMN analytics.api_requests.user_agent IS 'The client''s user agent; cleared by payload retention';
COMMENT ON COLUMN analytics.api_requests.metadata IS 'Free JSON object; cleared by payload retention';
COMMENT ON COLUMN analytics.api_requests.recorded_xid IS
  'Full id of the recording transaction: analytics.fold() folds requests below its watermark, each exactly once';

\ir functions/index_api_partition.sql

CREATE TABLE analytics.api_requests_default PARTITION OF analytics.api_requests DEFAULT;
SELECT analytics.index_api_partition('analytics.api_requests_default');
CREATE TRIGGER api_requests_append_only
  BEFORE UPDATE OR DELETE ON analytics.api_requests
  FOR EACH ROW EXECUTE FUNCTION analytics.guard_append_only('analytics.api_requests');
CREATE TRIGGER api_requests_no_truncate
  BEFORE TRUNCATE ON analytics.api_requests
  FOR EACH STATEMENT EXECUTE FUNCTION analytics.guard_append_only('analytics.api_requests');
ALTER TABLE analytics.api_requests ENABLE ALWAYS TRIGGER api_requests_append_only;
ALTER TABLE analytics.api_requests ENABLE ALWAYS TRIGGER api_requests_no_truncate;

-- App backends and all-rows admins read every request; organization admins
-- (roles and identities) their organization's; an identity its own.
ALTER TABLE analytics.api_requests ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_requests_read ON analytics.api_requests FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.api_requests_default', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.api_requests_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.api_requests', 'SELECT')
  ON CONFLICT DO NOTHING;

-- Idempotency keys: one row per (org_id, request_id), across partitions.
CREATE TABLE analytics.api_request_keys (
  org_id         text NOT NULL,
  request_id     text NOT NULL,
  api_request_id bigint NOT NULL,
  occurred_at    timestamptz NOT NULL,
  PRIMARY KEY (org_id, request_id)
);
COMMENT ON TABLE analytics.api_request_keys IS
  'Idempotency keys of recorded API requests: a repeat of (org_id, request_id) returns api_request_id and records nothing';
-- Internal: RLS on and no policy at all.
ALTER TABLE analytics.api_request_keys ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('analytics.api_request_keys', '');

/* ------------------------------------------------------------------------
 * Write path (C: api_request.c)
 * ------------------------------------------------------------------------ */

\ir functions/record_api_request.sql

/* ------------------------------------------------------------------------
 * Rollups, folded by analytics.fold() with the chat rollups (same
 * watermark: requests with recorded_xid in [watermark, h) are folded
 * exactly once).  Days are UTC days.
 * ------------------------------------------------------------------------ */

-- Per organization, UTC day, API key (0: none) and endpoint.
CREATE TABLE analytics.rollup_api_daily (
  org_id         text NOT NULL,
  usage_date     date NOT NULL,
  api_key_id     bigint NOT NULL,
  endpoint       text NOT NULL,
  requests       bigint NOT NULL,
  status_1xx     bigint NOT NULL,
  status_2xx     bigint NOT NULL,
  status_3xx     bigint NOT NULL,
  status_4xx     bigint NOT NULL,
  status_5xx     bigint NOT NULL,
  cached         bigint NOT NULL,
  billable_units bigint NOT NULL,
  latency        analytics.latency_sketch,
  last_seen      timestamptz NOT NULL,
  PRIMARY KEY (org_id, usage_date, api_key_id, endpoint)
);
COMMENT ON TABLE analytics.rollup_api_daily IS
  'Folded API requests per organization, UTC day, API key (0: none) and endpoint: requests by status class, cached, billable units, latency sketch, last request';

-- Per organization, widget and UTC day.
CREATE TABLE analytics.rollup_widget_daily (
  org_id         text NOT NULL,
  widget_id      text NOT NULL,
  usage_date     date NOT NULL,
  requests       bigint NOT NULL,
  billable_units bigint NOT NULL,
  last_seen      timestamptz NOT NULL,
  PRIMARY KEY (org_id, widget_id, usage_date)
);
COMMENT ON TABLE analytics.rollup_widget_daily IS
  'Folded API requests per organization, widget and UTC day: requests and billable units (impressions), last request';

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_settings
              WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE analytics.rollup_api_daily ALTER COLUMN latency SET COMPRESSION lz4;
  END IF;
END
$$;

ALTER TABLE analytics.rollup_api_daily ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_api_daily_read ON analytics.rollup_api_daily FOR SELECT
  USING ((SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}')));
ALTER TABLE analytics.rollup_widget_daily ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollup_widget_daily_read ON analytics.rollup_widget_daily FOR SELECT
  USING ((SELECT analytics.sees_all_rows())
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
         OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}')));
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_api_daily', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.rollup_widget_daily', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.rollup_api_daily', 'SELECT'),
  ('*', 'TABLE', 'analytics.rollup_widget_daily', 'SELECT')
  ON CONFLICT DO NOTHING;

\ir functions/fold_api_requests.sql

/* ------------------------------------------------------------------------
 * Reads: rollups plus the unfolded tail (read-your-writes), under RLS
 * ------------------------------------------------------------------------ */

\ir views/api_daily_usage.sql

\ir views/api_daily_summary.sql

\ir views/widget_daily_usage.sql

\ir functions/api_endpoint_latency.sql
