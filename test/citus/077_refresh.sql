-- refresh_all_views() on the cluster (issue 16): the fold lists the
-- user-months and documents of the events it claims in summary_changes
-- (no watermark says it there), so a refresh rewrites those rows only.
-- A summary row tampered with outside the refresh shows which rows a
-- refresh rewrote; a rebuild marker then rewrites every row.

SELECT plan(7);

-- A user-month and a document of their own, folded and refreshed.
SELECT count(analytics.record_chat_event(user_id => 'rf0', model => 'gpt-4o-mini', input_tokens => 3,
                                         output_tokens => 1, document_id => 'rf_doc0')) AS ok
  FROM generate_series(1, 2) \gset
SELECT analytics.fold() >= 2 AS ok \gset
SELECT analytics.refresh_all_views() IS NULL AS ok \gset

-- Rows of a summary table that differ from its source, both ways.
SET client_min_messages = error;
CREATE FUNCTION pg_temp.drift(summary text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM ((TABLE analytics.%1$s EXCEPT TABLE analytics.%2$s)
                   UNION ALL (TABLE analytics.%2$s EXCEPT TABLE analytics.%1$s)) x',
                 summary, replace(summary, 'mv_', '') || '_source') INTO n;
  RETURN n;
END
$$;
SET client_min_messages = warning;

-- One user-month and one document that nothing below changes, marked.
SELECT user_id AS still_user, month AS still_month
  FROM analytics.mv_user_monthly_summary WHERE user_id = 'rf0' \gset
SELECT document_id AS still_doc FROM analytics.mv_document_popularity WHERE document_id = 'rf_doc0' \gset
UPDATE analytics.mv_user_monthly_summary SET message_count = -1
 WHERE user_id = :'still_user' AND month = :'still_month';
UPDATE analytics.mv_document_popularity SET requests_all_time = -1 WHERE document_id = :'still_doc';

-- New events of a new user and a new document, and one more of an
-- existing user-month; folded, then refreshed.
SELECT count(analytics.record_chat_event(user_id => u, model => 'gpt-4o-mini', input_tokens => 3, output_tokens => 1,
                                         document_id => 'rf_doc')) AS ok
  FROM unnest(ARRAY['rf1', 'rf1', 'rf2']) u \gset
SELECT analytics.fold() AS folded \gset
SELECT count(*) AS changes FROM analytics.summary_changes \gset
SELECT analytics.refresh_all_views() IS NULL AS ok \gset

SELECT is(:folded::bigint, 3::bigint, 'the fold claims and folds the three events');
SELECT ok(:changes::bigint >= 3, 'and lists their user-months and document in summary_changes');
SELECT is((SELECT message_count FROM analytics.mv_user_monthly_summary WHERE user_id = 'rf1'
            AND month = date_trunc('month', now() AT TIME ZONE 'UTC')::date), 2::bigint,
          'the refresh wrote the new user-month');
SELECT is((SELECT requests_all_time FROM analytics.mv_document_popularity WHERE document_id = 'rf_doc'), 3::bigint,
          'and the new document');
SELECT is((SELECT message_count FROM analytics.mv_user_monthly_summary
            WHERE user_id = :'still_user' AND month = :'still_month')
          + (SELECT requests_all_time FROM analytics.mv_document_popularity WHERE document_id = :'still_doc'),
          -2::bigint, 'and left the unchanged user-month and document alone (not a rebuild)');

-- A rebuild marker (as refold_range leaves): every row rewritten.
INSERT INTO analytics.summary_changes VALUES (NULL, NULL, NULL);
SELECT analytics.refresh_all_views() IS NULL AS ok \gset
SELECT is(pg_temp.drift('mv_user_monthly_summary'), 0::bigint, 'after a rebuild marker mv_user_monthly_summary equals its source');
SELECT is(pg_temp.drift('mv_document_popularity'), 0::bigint, 'and mv_document_popularity too');

SELECT * FROM finish();
