/*-------------------------------------------------------------------------
 * reads.sql
 *    What users, app backends and admins read: per-user, per-document and
 *    system views, the read API (token breakdown, request history, dashboard)
 *    and the materialized views with their identity-filtered view.
 *-------------------------------------------------------------------------
 */

/* Per-user views over counters and rollups (read-your-writes through the
 * per-user helpers of fold.sql); document and system views from the
 * rollups as of the last fold. */

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
       x.feedback_count,
       l.avg_query_length,
       l.avg_response_length,
       analytics.user_period_sessions(c.user_id, c.usage_date, c.usage_date) AS session_count
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
  CROSS JOIN LATERAL analytics.user_period_distinct(c.user_id, c.usage_date, c.usage_date) d
  CROSS JOIN LATERAL analytics.user_period_lengths(c.user_id, c.usage_date, c.usage_date) l;
COMMENT ON VIEW analytics.user_daily_usage IS
  'Per-user usage of each local day (seed 000): exact counts from the counters; latency percentiles, feedback, distinct conversations, documents and sessions, average query and response lengths from the rollups plus unfolded events';

\ir functions/user_month_limit.sql

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
       x.feedback_count,
       l.limit_reached, l.limit_reached_at, l.limit_name,
       ln.avg_query_length,
       ln.avg_response_length,
       b.requests_by_intent,
       b.requests_by_type
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
                       (m.month + interval '1 month - 1 day')::date) d
  CROSS JOIN LATERAL analytics.user_month_limit(m.user_id, m.month) l
  CROSS JOIN LATERAL analytics.user_months_lengths(m.user_id, m.month, m.month) ln
  CROSS JOIN LATERAL analytics.user_period_labels(m.user_id, m.month,
                       (m.month + interval '1 month - 1 day')::date) b;
COMMENT ON VIEW analytics.user_monthly_usage IS
  'Per-user usage of each local month: sums of at most 31 day counters, with percentiles, feedback, distinct counts, whether and when a monthly limit was reached, average query and response lengths and requests by query_intent and request_type';

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
       r.failed AS error_count,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('section', t.section, 'references', t.requests)
                                  ORDER BY t.requests DESC, t.section COLLATE "C")
                   FROM (SELECT x.section, x.requests FROM analytics.rollup_document_sections x
                          WHERE x.document_id = r.document_id AND x.usage_date = r.usage_date
                          ORDER BY x.requests DESC, x.section COLLATE "C" LIMIT 5) t), '[]') AS top_sections
  FROM analytics.rollup_documents r;
COMMENT ON VIEW analytics.document_usage IS
  'Per-document usage of each UTC day (seed 000), from the rollups as of the last fold; top_sections: the 5 sections most referenced that day (exact counts, ties by name)';

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
       s.model_distribution,
       round(s.query_length_sum / NULLIF(s.query_length_count, 0))::integer AS avg_query_length,
       round(s.response_length_sum / NULLIF(s.response_length_count, 0))::integer AS avg_response_length,
       COALESCE((SELECT jsonb_object_agg(l.label, l.requests) FROM analytics.rollup_system_labels l
                  WHERE l.usage_date = s.usage_date AND l.kind = 'query_intent'), '{}') AS requests_by_intent,
       COALESCE((SELECT jsonb_object_agg(l.label, l.requests) FROM analytics.rollup_system_labels l
                  WHERE l.usage_date = s.usage_date AND l.kind = 'request_type'), '{}') AS requests_by_type
  FROM (SELECT m.usage_date, sum(m.requests)::bigint AS requests, sum(m.failed)::bigint AS failed,
               sum(m.tokens_total)::bigint AS tokens_total,
               sum(m.cached_input_tokens)::bigint AS cached_input_tokens,
               sum(m.cost) AS cost, sum(m.cache_savings) AS cache_savings,
               analytics.latency_sketch_merge(m.latency) AS latency,
               sum(m.feedback_sum)::bigint AS feedback_sum, sum(m.feedback_count)::bigint AS feedback_count,
               jsonb_object_agg(m.model, m.requests) AS model_distribution,
               sum(m.query_length_sum) AS query_length_sum, sum(m.query_length_count) AS query_length_count,
               sum(m.response_length_sum) AS response_length_sum,
               sum(m.response_length_count) AS response_length_count
          FROM (SELECT x.usage_date, x.model, sum(x.requests)::bigint AS requests, sum(x.failed) AS failed,
                       sum(x.tokens_total) AS tokens_total, sum(x.cached_input_tokens) AS cached_input_tokens,
                       sum(x.cost) AS cost, sum(x.cache_savings) AS cache_savings,
                       analytics.latency_sketch_merge(x.latency) AS latency,
                       sum(x.feedback_sum) AS feedback_sum, sum(x.feedback_count) AS feedback_count,
                       sum(x.query_length_sum) AS query_length_sum, sum(x.query_length_count) AS query_length_count,
                       sum(x.response_length_sum) AS response_length_sum,
                       sum(x.response_length_count) AS response_length_count
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
  'Platform-wide metrics of each UTC day (seed 000): active and new users, volume, cost, latency percentiles, errors, model distribution, average query and response lengths, requests by query_intent and request_type';

INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.user_daily_usage', 'SELECT'),
  ('*', 'TABLE', 'analytics.user_monthly_usage', 'SELECT'),
  ('*', 'TABLE', 'analytics.v_user_current_month', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.document_usage', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.system_daily_metrics', 'SELECT'),
  ('admin', 'TABLE', 'analytics.document_usage', 'SELECT'),
  ('admin', 'TABLE', 'analytics.system_daily_metrics', 'SELECT')
  ON CONFLICT DO NOTHING;

/* ------------------------------------------------------------------------
 * Read API (SECURITY INVOKER: RLS decides what the caller sees)
 * ------------------------------------------------------------------------ */

\ir functions/user_model_usage.sql

\ir functions/get_user_token_breakdown.sql

\ir functions/check_page.sql

CREATE TYPE analytics.request_history_row AS (
  id bigint, occurred_at timestamptz, model text, provider text, status text,
  input_tokens integer, cached_input_tokens integer, cache_write_tokens integer,
  output_tokens integer, reasoning_tokens integer, tokens_total integer, cost numeric,
  response_time_ms integer, time_to_first_token_ms integer, category text, conversation_id text,
  document_id text, error_code text, feedback_rating smallint);
COMMENT ON TYPE analytics.request_history_row IS 'A row of a user''s request history';

\ir functions/get_user_request_history.sql

\ir functions/get_user_request_history_before.sql

\ir functions/user_dashboard.sql

CREATE VIEW analytics.user_request_analytics WITH (security_invoker = true) AS
SELECT c.user_id,
       sum(c.requests)::bigint AS total_requests,
       sum(c.requests - c.failed)::bigint AS successful_requests,
       sum(c.failed)::bigint AS failed_requests,
       sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS total_tokens,
       sum(c.cost) AS total_cost,
       round(sum(c.response_time_sum)::numeric / NULLIF(sum(c.response_time_count), 0))::integer AS avg_response_time,
       (SELECT m.model FROM analytics.user_model_usage(c.user_id, '-infinity', 'infinity') m
         GROUP BY m.model ORDER BY sum(m.requests) DESC, m.model LIMIT 1) AS most_used_model,
       (SELECT NULLIF(m.provider, '') FROM analytics.user_model_usage(c.user_id, '-infinity', 'infinity') m
         GROUP BY m.provider ORDER BY sum(m.requests) DESC, m.provider LIMIT 1) AS most_used_provider,
       (SELECT max(e.occurred_at) FROM analytics.chat_events e WHERE e.user_id = c.user_id) AS last_request_time
  FROM analytics.usage_counters c
 GROUP BY c.user_id;
COMMENT ON VIEW analytics.user_request_analytics IS
  'Per-user totals (seed 003): requests, successes, failures, tokens, cost, average latency, most used model and provider (read-your-writes), last request';

\ir functions/check_days.sql

\ir functions/user_recent_activity.sql

CREATE VIEW analytics.v_user_recent_activity WITH (security_invoker = true) AS
SELECT a.user_id, a.occurred_at, a.event_id, a.conversation_id, a.document_id, a.model, a.provider,
       a.tokens_total, a.cost_total, a.response_time_ms, a.cache_hit, a.error_occurred,
       a.status, a.category, a.metadata
  FROM analytics.user_recent_activity() a;
COMMENT ON VIEW analytics.v_user_recent_activity IS
  'The last 7 days of requests (seed 000), with metadata instead of the seed''s document join; user_recent_activity(days) for another window';

/* Per user, local month, provider and model (seed 003's monthly token
 * breakdown): the folded days plus the not yet folded tail, so a user
 * reads their own writes.  A condition on user_id reaches both branches
 * (rollup_user_models' key, chat_events' (user_id, recorded_xid) index). */
CREATE VIEW analytics.user_monthly_model_usage WITH (security_invoker = true) AS
SELECT u.user_id, u.month,
       EXTRACT(year FROM u.month)::integer AS year,
       EXTRACT(month FROM u.month)::integer AS month_number,
       u.model, NULLIF(u.provider, '') AS provider,
       sum(u.requests)::bigint AS request_count,
       sum(u.failed)::bigint AS failed_count,
       sum(u.input_tokens)::bigint AS input_tokens,
       sum(u.cached_input_tokens)::bigint AS cached_input_tokens,
       sum(u.cache_write_tokens)::bigint AS cache_write_tokens,
       sum(u.output_tokens)::bigint AS output_tokens,
       sum(u.reasoning_tokens)::bigint AS reasoning_tokens,
       sum(u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens)::bigint AS total_tokens,
       sum(u.cost) AS total_cost,
       max(u.last_used) AS last_used
  FROM (SELECT r.user_id, pg_catalog.date_trunc('month', r.usage_date::timestamp)::date AS month,
               r.provider, r.model, r.requests, r.failed, r.input_tokens, r.cached_input_tokens,
               r.cache_write_tokens, r.output_tokens, r.reasoning_tokens, r.cost, r.last_used
          FROM analytics.rollup_user_models r
        UNION ALL
        SELECT e.user_id, pg_catalog.date_trunc('month', e.usage_date::timestamp)::date,
               COALESCE(e.provider, ''), e.model, 1, (e.status = 'failed')::integer,
               e.input_tokens, e.cached_input_tokens, e.cache_write_tokens, e.output_tokens,
               e.reasoning_tokens, e.cost, e.occurred_at
          FROM analytics.chat_events e
         WHERE e.recorded_xid >= analytics.fold_watermark() AND e.status IN ('completed', 'failed')) u
 GROUP BY u.user_id, u.month, u.model, u.provider;
COMMENT ON VIEW analytics.user_monthly_model_usage IS
  'Per-user usage by local month, model and provider (seed 003): requests, failures, tokens per ledger bucket, cost, last use; read-your-writes';
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.user_request_analytics', 'SELECT'),
  ('*', 'TABLE', 'analytics.v_user_recent_activity', 'SELECT'),
  ('*', 'TABLE', 'analytics.user_monthly_model_usage', 'SELECT')
  ON CONFLICT DO NOTHING;

/* System-wide reports (seed 004): usage by UTC month and model from the
 * rollups (as of the last fold), and users by plan. */
CREATE VIEW analytics.model_monthly_usage WITH (security_invoker = true) AS
SELECT pg_catalog.date_trunc('month', r.usage_date::timestamp)::date AS month,
       r.model, NULLIF(r.provider, '') AS provider,
       sum(r.requests)::bigint AS request_count,
       sum(r.failed)::bigint AS failed_count,
       sum(r.tokens_total)::bigint AS total_tokens,
       (sum(r.tokens_total) / NULLIF(sum(r.requests), 0))::bigint AS avg_tokens,
       sum(r.cached_input_tokens)::bigint AS cached_input_tokens,
       sum(r.cost) AS total_cost
  FROM analytics.rollup_system_models r
 GROUP BY 1, r.model, r.provider;
COMMENT ON VIEW analytics.model_monthly_usage IS
  'Requests, tokens and cost per UTC month, model and provider, system-wide (seed 004), from the rollups as of the last fold';

/* Users are those the extension knows: with usage counters or a
 * subscription.  Each is counted under the plan in force now: its
 * subscription's, or usage_analytics.default_plan without one. */
CREATE VIEW analytics.users_by_plan WITH (security_invoker = true) AS
SELECT p.plan_id, p.name AS plan_name,
       p.plan_id = analytics.setting('default_plan') AS is_default_plan,
       COALESCE(n.user_count, 0)::bigint AS user_count,
       COALESCE(n.subscribed_users, 0)::bigint AS subscribed_users,
       COALESCE(n.default_plan_users, 0)::bigint AS default_plan_users
  FROM analytics.plans p
  LEFT JOIN (SELECT s.plan_id, count(*) AS user_count,
                    count(*) FILTER (WHERE s.subscribed) AS subscribed_users,
                    count(*) FILTER (WHERE NOT s.subscribed) AS default_plan_users
               FROM (SELECT u.user_id, a.plan_id,
                            EXISTS (SELECT 1 FROM analytics.subscriptions x
                                     WHERE x.user_id = u.user_id AND x.starts_at <= pg_catalog.now()
                                       AND (x.ends_at IS NULL OR x.ends_at > pg_catalog.now())) AS subscribed
                       FROM (SELECT c.user_id FROM analytics.usage_counters c
                             UNION
                             SELECT x.user_id FROM analytics.subscriptions x) u
                      CROSS JOIN LATERAL analytics.subject_at(u.user_id, pg_catalog.now()) a) s
              GROUP BY s.plan_id) n ON n.plan_id = p.plan_id;
COMMENT ON VIEW analytics.users_by_plan IS
  'Users per plan in force now (seed 004), those on the default plan without a subscription included';
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'TABLE', 'analytics.model_monthly_usage', 'SELECT'),
  ('app_backend', 'TABLE', 'analytics.users_by_plan', 'SELECT'),
  ('admin', 'TABLE', 'analytics.model_monthly_usage', 'SELECT'),
  ('admin', 'TABLE', 'analytics.users_by_plan', 'SELECT')
  ON CONFLICT DO NOTHING;

/* Seed 004's conversation figures, from rollup_conversations (as of the
 * last fold; RLS: end users see their own). */
CREATE VIEW analytics.conversation_usage WITH (security_invoker = true) AS
SELECT r.user_id, c.conversation_id,
       sum(c.requests)::bigint AS message_count,
       sum(c.tokens_total)::bigint AS tokens_total,
       sum(c.cost) AS cost_total,
       min(c.first_at) AS first_activity_at,
       max(c.last_at) AS last_activity_at,
       count(*)::integer AS active_days
  FROM analytics.rollup_conversations r,
       unnest(r.conversation_ids, r.requests, r.tokens_total, r.cost, r.first_at, r.last_at)
         AS c(conversation_id, requests, tokens_total, cost, first_at, last_at)
 GROUP BY r.user_id, c.conversation_id;
COMMENT ON VIEW analytics.conversation_usage IS
  'Per conversation (seed 004): messages, tokens, cost, first and last activity, active local days; from the rollups as of the last fold';
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.conversation_usage', 'SELECT')
  ON CONFLICT DO NOTHING;

\ir functions/conversation_averages.sql

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
       r.feedback_count,
       EXTRACT(year FROM c.month)::integer AS year,
       EXTRACT(month FROM c.month)::integer AS month_number,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'user_conversation' AND x.scope_id = c.user_id
           AND x.usage_date BETWEEN c.month AND (c.month + interval '1 month - 1 day')::date) AS conversation_count,
       (SELECT count(DISTINCT i.item) FROM analytics.rollup_distinct x, unnest(x.items) AS i(item)
         WHERE x.scope = 'user_document' AND x.scope_id = c.user_id
           AND x.usage_date BETWEEN c.month AND (c.month + interval '1 month - 1 day')::date) AS document_count,
       round(100.0 * c.cache_hits / NULLIF(c.message_count, 0), 2) AS cache_hit_rate,
       round(c.rt_sum::numeric / NULLIF(c.rt_count, 0))::integer AS avg_response_time_ms,
       (SELECT max(m.last_used) FROM analytics.rollup_user_models m
         WHERE m.user_id = c.user_id
           AND m.usage_date BETWEEN c.month AND (c.month + interval '1 month - 1 day')::date) AS last_activity_at
  FROM (SELECT u.user_id, date_trunc('month', u.usage_date::timestamp)::date AS month,
               sum(u.requests)::bigint AS message_count,
               count(DISTINCT u.usage_date) FILTER (WHERE u.requests > 0)::integer AS active_days,
               sum(u.input_tokens + u.cached_input_tokens + u.cache_write_tokens + u.output_tokens)::bigint AS tokens_total,
               sum(u.cached_input_tokens)::bigint AS tokens_cached, sum(u.cost) AS cost_total,
               sum(u.cache_savings) AS cost_saved_by_cache, sum(u.failed)::bigint AS error_count,
               sum(u.cache_hits)::bigint AS cache_hits, sum(u.response_time_sum)::bigint AS rt_sum,
               sum(u.response_time_count)::bigint AS rt_count
          FROM analytics.usage_counters u
         GROUP BY 1, 2) c
  LEFT JOIN analytics.rollup_user_monthly r USING (user_id, month)
WITH NO DATA;
CREATE UNIQUE INDEX mv_user_monthly_summary_key ON analytics.mv_user_monthly_summary (user_id, month);
COMMENT ON MATERIALIZED VIEW analytics.mv_user_monthly_summary IS
  'Per-user monthly summary (seed 000) from the counters and rollups (percentiles, feedback, distinct counts, last_activity_at as of the last fold); cache_hit_rate is the percentage of requests that hit the cache; refreshed by refresh_all_views(); read it through user_monthly_summary';

/*
 * mv_document_popularity: windows are UTC days (document rollups are UTC
 * days), not the refreshing session's current_date; empty windows are 0.
 */
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
       max(d.usage_date) AS last_used_date,
       COALESCE(sum(d.cost) FILTER (WHERE d.usage_date > t.d - 7), 0) AS cost_7d,
       round(sum(analytics.sketch_sum(d.latency))::numeric
             / NULLIF(sum(analytics.sketch_count(d.latency)), 0))::integer AS avg_response_time_ms,
       max(d.last_used) AS last_accessed_at
  FROM analytics.rollup_documents d, today t
 GROUP BY d.document_id, t.d
WITH NO DATA;
CREATE UNIQUE INDEX mv_document_popularity_key ON analytics.mv_document_popularity (document_id);
COMMENT ON MATERIALIZED VIEW analytics.mv_document_popularity IS
  'Per-document requests, users and cost over the last 7 and 30 UTC days (as of the refresh; 0 when none) and all time, average latency (all time) and the last event''s time; admins and app backends only';
-- Materialized views cannot have row-level security: not for
-- organization-scoped admins.
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('app_backend', 'TABLE', 'analytics.mv_document_popularity', 'SELECT', true),
  ('admin', 'TABLE', 'analytics.mv_document_popularity', 'SELECT', true),
  ('admin', 'TABLE', 'analytics.mv_user_monthly_summary', 'SELECT', true)
  ON CONFLICT DO NOTHING;

\ir functions/refresh_all_views.sql

-- End users read their own rows of the summary through this view (owner's
-- rights on the materialized view, rows filtered by identity).
CREATE VIEW analytics.user_monthly_summary WITH (security_barrier = true) AS
SELECT s.*
  FROM analytics.mv_user_monthly_summary s
 WHERE s.user_id OPERATOR(pg_catalog.=) analytics.current_user_id()
    OR analytics.sees_all_rows();
COMMENT ON VIEW analytics.user_monthly_summary IS
  'mv_user_monthly_summary filtered to the caller''s own user (all rows for app backends and admins)';
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.user_monthly_summary', 'SELECT')
  ON CONFLICT DO NOTHING;
