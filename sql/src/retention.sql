/*-------------------------------------------------------------------------
 * retention.sql
 *    Retention: whole months of raw events leave (counters and rollups
 *    stay), and free text leaves earlier (payload retention).
 *-------------------------------------------------------------------------
 */

/* ------------------------------------------------------------------------
 * Retention: whole months of raw events leave; counters and rollups stay.
 * ------------------------------------------------------------------------ */

\ir functions/apply_retention.sql

/*
 * Payload retention: events keep their figures for retention_months, their
 * free text (metadata, error_message, feedback_text, which may hold prompt
 * or response fragments) for usage_analytics.payload_retention_days.
 */
\ir functions/clear_payloads.sql
