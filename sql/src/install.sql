/*-------------------------------------------------------------------------
 * install.sql
 *    The fresh install of the version in development: the Makefile expands
 *    every \ir below (tools/assemble-sql.pl) into
 *    build/usage_analytics--<version>.sql.
 *
 * Where each object is defined (one place each):
 *
 *    access.sql       schema; access_list (privileges per kind of role);
 *                     role_bindings; identity (current_user_id,
 *                     sees_all_rows, admin_org_ids, act_as); settings;
 *                     the grant helpers
 *    types.sql        latency_sketch (type, aggregates, accessors); amount
 *    organizations.sql  organizations and their members
 *    api_keys.sql     API keys (create, revoke, rotate, authenticate) and
 *                     their exact per-minute and per-hour rate limits
 *    prices.sql       model_prices, model_aliases, price_request, the
 *                     LiteLLM catalog import, the shipped prices
 *    plans.sql        plans, subscriptions, subject_at, subscribe, the
 *                     shipped plans
 *    events.sql       chat_events and its partitions, append-only guards,
 *                     request_keys, the write path (record_chat_event[s])
 *    mappers.sql      provider usage objects onto the token ledger
 *    counters.sql     usage_counters and counters_add; check_quota;
 *                     admission; reservation expiry; notifications;
 *                     alert rules and their evaluation
 *    fold.sql         fold_state, the rollups, rollups_add, the fold, the
 *                     per-user read helpers, verification and repair
 *    api_requests.sql API-request metering: widgets, api_requests and its
 *                     partitions, record_api_request, the API and widget
 *                     rollups and their fold step, the read-your-writes
 *                     views (api_daily_usage, api_daily_summary,
 *                     widget_daily_usage), api_endpoint_latency
 *    corrections.sql  feedback; event_corrections, correct_event, void_event
 *    billing.sql      currencies, meters, plan charges and tiers, credit
 *                     grants, invoices and their lines, invoice numbers,
 *                     credit consumption; invoice generation
 *    billing_ops.sql  invoice_json (export), the billing outbox (claim,
 *                     acknowledge, NOTIFY), revenue reports, billing
 *                     warnings, grant_credits and credit_balance
 *    retention.sql    apply_retention, clear_payloads
 *    reads.sql        views, the read API, the summaries (summaries.sql)
 *    jobs.sql         pg_cron jobs, job status and failures, fold lag,
 *                     distribute() (Citus), the uninstall event trigger
 *    functions/NAME.sql  the current body of analytics.NAME, with its
 *                     comment, its REVOKE from PUBLIC and its access_list
 *                     rows; included by the subsystem file above
 *    views/NAME.sql   the same for each view and materialized view
 *
 * Each table's file holds, beside the table: its comments, row-level
 * security and policies, pg_dump registration and access_list rows.
 * Conventions: everything qualified; every SECURITY DEFINER function pins
 * search_path; nothing is granted to PUBLIC, grants go through
 * analytics.grant_*() from access_list.  Released scripts
 * (sql/usage_analytics--1.0.sql) are frozen; upgrades are written in
 * sql/src/upgrades/ and include the function files they replace.
 *-------------------------------------------------------------------------
 */
\echo Use "CREATE EXTENSION usage_analytics" to load this file. \quit

\ir access.sql
\ir types.sql
\ir organizations.sql
\ir api_keys.sql
\ir prices.sql
\ir plans.sql
\ir events.sql
\ir mappers.sql
\ir counters.sql
\ir fold.sql
\ir api_requests.sql
\ir corrections.sql
\ir billing.sql
\ir billing_ops.sql
\ir retention.sql
\ir reads.sql
\ir jobs.sql

/* Nothing is usable by PUBLIC: access goes through the grant helpers. */
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA analytics FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA analytics FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA analytics FROM PUBLIC;

-- No monthly partition is made here: a partition created by this script
-- would be a member of the extension, and CREATE EXTENSION at restore time
-- would make other months than the dump holds.  Events wait in the default
-- partition until ensure_partitions() runs (schedule_jobs() runs it at once).
