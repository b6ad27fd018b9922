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

\ir views/user_daily_usage.sql

\ir functions/user_month_limit.sql

\ir views/user_monthly_usage.sql

\ir views/v_user_current_month.sql

\ir views/document_usage.sql

\ir views/system_daily_metrics.sql

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

\ir views/user_request_analytics.sql

\ir functions/check_days.sql

\ir functions/user_recent_activity.sql

\ir views/v_user_recent_activity.sql

/* Per user, local month, provider and model (seed 003's monthly token
 * breakdown): the folded days plus the not yet folded tail, so a user
 * reads their own writes.  A condition on user_id reaches both branches
 * (rollup_user_models' key, chat_events' (user_id, recorded_xid) index). */
\ir views/user_monthly_model_usage.sql

/* System-wide reports (seed 004): usage by UTC month and model from the
 * rollups (as of the last fold), and users by plan. */
\ir views/model_monthly_usage.sql

/* Users are those the extension knows: with usage counters or a
 * subscription.  Each is counted under the plan in force now: its
 * subscription's, or usage_analytics.default_plan without one. */
\ir views/users_by_plan.sql

/* Seed 004's conversation figures, from rollup_conversations (as of the
 * last fold; RLS: end users see their own). */
\ir views/conversation_usage.sql

-- Organizations (1.1): their daily and monthly usage from the counters.
\ir views/org_daily_usage.sql

\ir views/org_monthly_usage.sql

\ir functions/org_dashboard.sql

\ir functions/conversation_averages.sql

/* ------------------------------------------------------------------------
 * Summaries (the seed's materialized views): tables refreshed row by row
 * from the rollups, never readable by end users (served through
 * identity-filtered views).
 * ------------------------------------------------------------------------ */

\ir summaries.sql

