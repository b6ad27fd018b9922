/*-------------------------------------------------------------------------
 * summaries.sql
 *    The seed's summary "materialized views", kept as tables that
 *    refresh_all_views() brings up to date row by row: it rewrites the
 *    user-months and documents that changed since its last run (events
 *    folded since, corrections and feedback through rollups_add, document
 *    windows that moved with the UTC day), so its cost follows what changed.
 *    What a row holds is defined once, by a view over the rollups (*_source);
 *    end users read their rows through user_monthly_summary.
 *-------------------------------------------------------------------------
 */

\ir views/user_monthly_summary_source.sql
\ir views/document_popularity_source.sql

\ir views/mv_user_monthly_summary.sql

/*
 * mv_document_popularity: windows are UTC days (document rollups are UTC
 * days), not the refreshing session's current_date; empty windows are 0.
 */
\ir views/mv_document_popularity.sql

-- How far the summaries are: the fold position and UTC day of the last
-- refresh.  Not dumped: a restored database starts with a full refresh.
CREATE TABLE analytics.summary_refresh (
  singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  refreshed_at  timestamptz,
  utc_day       date,
  watermark     bigint,
  events_folded bigint
);
INSERT INTO analytics.summary_refresh DEFAULT VALUES;
COMMENT ON TABLE analytics.summary_refresh IS
  'The last refresh_all_views(): when, its UTC day (the document windows), and the fold''s watermark and events_folded it had read (refreshed_at NULL: the next refresh rebuilds every row)';
ALTER TABLE analytics.summary_refresh ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON analytics.summary_refresh FROM PUBLIC;

-- What moved folded rollups outside the fold since the last refresh:
-- rollups_add (corrections, feedback) adds the user-month and document,
-- refold_range (rebuilds, restore repair) a row of NULLs (rebuild all).
CREATE TABLE analytics.summary_changes (
  user_id     text,
  month       date,
  document_id text
);
COMMENT ON TABLE analytics.summary_changes IS
  'User-months and documents whose folded rollups were changed outside the fold since the last refresh_all_views() (a row of NULLs: every row); consumed by the refresh';
ALTER TABLE analytics.summary_changes ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON analytics.summary_changes FROM PUBLIC;

\ir functions/refresh_all_views.sql

\ir views/user_monthly_summary.sql
