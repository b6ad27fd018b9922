/*-------------------------------------------------------------------------
 * counters.sql
 *    Exact per-user, per-day counters kept by the write path, the quota
 *    check, admission (start_request / complete_request, C), reservation
 *    expiry and the threshold notifications outbox.
 *-------------------------------------------------------------------------
 */

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
ALTER TABLE analytics.usage_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_counters_read ON analytics.usage_counters FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows()));
SELECT pg_catalog.pg_extension_config_dump('analytics.usage_counters', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.usage_counters', 'SELECT')
  ON CONFLICT DO NOTHING;

-- The one counter change (C write path, expiry, corrections, rebuild).
\ir functions/counters_add.sql

/* ------------------------------------------------------------------------
 * Exact counters per organization and local day (the organization's time
 * zone) of the requests made with its org_id: the pooled total (user_id
 * '') and each member's share (user_id), in backend slots like
 * usage_counters, so that many members writing at once update no common
 * row.  A request with org_id is also in its user's usage_counters (the
 * user's activity), but counts against the organization's plan and the
 * member's caps, not the user's own plan: the user's quota subtracts the
 * member rows.  org_id first in the key (README "Tenancy model").
 * ------------------------------------------------------------------------ */

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
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.org_usage_counters', 'SELECT')
  ON CONFLICT DO NOTHING;

\ir functions/org_counters_add.sql

\ir functions/org_counters_of_log.sql

/* ------------------------------------------------------------------------
 * Quota
 * ------------------------------------------------------------------------ */

\ir functions/usage_snapshot.sql

\ir functions/check_quota.sql

/* ------------------------------------------------------------------------
 * Admission: start_request / complete_request (C), reservation expiry,
 * threshold notifications
 * ------------------------------------------------------------------------ */

\ir functions/start_request.sql

\ir functions/complete_request.sql

\ir functions/backend_slot.sql

/*
 * Admissions per provider or model (a row of provider_limits with a limit)
 * and fixed UTC window (period 'minute' or 'day', from period_start), in
 * backend slots like usage_counters: admissions of one provider wait for
 * each other's commit on its admission lock, never on a counter row.
 * Readers sum the slots.  expire_reservations() deletes windows that ended
 * more than a day ago.
 */
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
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'TABLE', 'analytics.provider_counters', 'SELECT', false),
  ('admin', 'TABLE', 'analytics.provider_counters', 'SELECT', true)
  ON CONFLICT DO NOTHING;

\ir functions/expire_reservations.sql

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
  rule_id         bigint,
  org_id          text NOT NULL DEFAULT '',
  PRIMARY KEY (user_id, org_id, limit_name, period_start, threshold),
  UNIQUE (user_id, notification_id)
);
CREATE INDEX notifications_open_idx ON analytics.notifications (created_at) WHERE acknowledged_at IS NULL;
COMMENT ON TABLE analytics.notifications IS
  'Outbox of usage thresholds reached: one row per user, limit, period and threshold, exactly once, written in the transaction that reached it (or, when concurrent transactions reached it together, by the next fold()) and announced with NOTIFY usage_analytics';
COMMENT ON COLUMN analytics.notifications.rule_id IS
  'The alert rule (analytics.alert_rules) that wrote the row; NULL for plan thresholds';
COMMENT ON COLUMN analytics.notifications.org_id IS
  'The organization the row is for (user_id ''''): its plan''s thresholds, its subscription expiring, api_key_created and api_key_expiring; '''' for a user''s rows';
ALTER TABLE analytics.notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY notifications_read ON analytics.notifications FOR SELECT
  USING (user_id OPERATOR(pg_catalog.=) (SELECT analytics.current_user_id())
         OR (SELECT analytics.sees_all_rows())
         OR (org_id OPERATOR(pg_catalog.<>) ''
             AND (org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
                  OR org_id OPERATOR(pg_catalog.=) ANY (COALESCE((SELECT analytics.identity_org_ids('{owner,admin}')), '{}')))));
SELECT pg_catalog.pg_extension_config_dump('analytics.notifications', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.notifications_notification_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.notifications', 'SELECT')
  ON CONFLICT DO NOTHING;

\ir functions/notify_thresholds.sql

\ir functions/list_notifications.sql

\ir functions/acknowledge_notifications.sql

/* ------------------------------------------------------------------------
 * Alert rules: absolute amounts (cost per day, tokens per month) and the
 * error rate over a sliding window, for one user or system-wide, defined
 * by admins and evaluated by evaluate_alerts() (the usage_analytics_alerts
 * job).  A rule reached in a period writes one notifications row, exactly
 * once (its primary key: user_id, 'alert:' || rule_id, period_start,
 * threshold 1), announced with NOTIFY usage_analytics.  System-wide rules
 * write user_id '' (no user has an empty id): app backends and admins see
 * them, end users never.
 * ------------------------------------------------------------------------ */

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

\ir functions/check_alert_rule.sql
CREATE TRIGGER alert_rules_check BEFORE INSERT OR UPDATE ON analytics.alert_rules
  FOR EACH ROW EXECUTE FUNCTION analytics.check_alert_rule();

SELECT pg_catalog.pg_extension_config_dump('analytics.alert_rules', '');
SELECT pg_catalog.pg_extension_config_dump('analytics.alert_rules_rule_id_seq', '');
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'TABLE', 'analytics.alert_rules', 'SELECT, INSERT, UPDATE, DELETE', true)
  ON CONFLICT DO NOTHING;

\ir functions/evaluate_alerts.sql
