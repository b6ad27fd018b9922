\set ECHO none
-- The summary tables (the seed's materialized views) refreshed row by row:
-- after every kind of change they equal their source views over the
-- rollups, and a refresh rewrites only the rows that changed (a row
-- tampered with outside the refresh stays as it is until its user-month or
-- document changes).  The fold only folds committed transactions: this
-- file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(19);

CREATE FUNCTION pg_temp.event(u text, doc text, days_ago integer DEFAULT 0, tokens integer DEFAULT 100)
  RETURNS bigint LANGUAGE sql AS $$
  SELECT analytics.record_chat_event(user_id => u, model => 'gpt-4o', input_tokens => tokens,
           output_tokens => 10, response_time_ms => 100 + days_ago, document_id => doc,
           conversation_id => u || '-c' || days_ago,
           occurred_at => ((now() AT TIME ZONE 'UTC')::date - days_ago + time '00:01') AT TIME ZONE 'UTC')
$$;
-- Rows of a summary table that differ from its source, both ways.
CREATE FUNCTION pg_temp.drift(summary text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM ((TABLE analytics.%1$s EXCEPT TABLE analytics.%2$s)
                   UNION ALL (TABLE analytics.%2$s EXCEPT TABLE analytics.%1$s)) x',
                 summary, replace(summary, 'mv_', '') || '_source')
    INTO n;
  RETURN n;
END
$$;

SELECT count(pg_temp.event(u, d, a))
  FROM unnest('{u1,u2,u3}'::text[]) u, unnest('{docA,docB,docW}'::text[]) d, unnest('{0,3,7,40}'::int[]) a \gset
SELECT count(pg_temp.event('u4', 'docQ', 5)) \gset
SELECT analytics.fold() \gset
SELECT is((SELECT refreshed_at FROM analytics.summary_refresh), NULL, 'never refreshed after CREATE EXTENSION');
SELECT lives_ok('SELECT analytics.refresh_all_views()', 'the first refresh builds every row');
SELECT is(pg_temp.drift('mv_user_monthly_summary'), 0::bigint, 'mv_user_monthly_summary equals its source');
SELECT is(pg_temp.drift('mv_document_popularity'), 0::bigint, 'mv_document_popularity equals its source');
SELECT ok((SELECT count(*) FROM analytics.mv_user_monthly_summary) >= 8
          AND (SELECT count(*) FROM analytics.mv_document_popularity) = 4, 'the rows are there');

-- Rows tampered with outside the refresh show which rows a refresh rewrites.
UPDATE analytics.mv_user_monthly_summary SET message_count = -1 WHERE user_id IN ('u1', 'u4');
UPDATE analytics.mv_document_popularity SET requests_all_time = -1 WHERE document_id IN ('docA', 'docQ');
SELECT count(*) AS tampered FROM analytics.mv_user_monthly_summary WHERE message_count = -1 \gset

-- New events of u2 on docB: only u2's month and docB are rewritten.
SELECT pg_temp.event('u2', 'docB') \gset
SELECT analytics.fold() \gset
SELECT analytics.refresh_all_views() \gset
SELECT is((SELECT message_count FROM analytics.mv_user_monthly_summary s
            WHERE user_id = 'u2' AND month = date_trunc('month', (now() AT TIME ZONE 'UTC')::date)),
          (SELECT message_count FROM analytics.user_monthly_summary_source s
            WHERE user_id = 'u2' AND month = date_trunc('month', (now() AT TIME ZONE 'UTC')::date)),
          'a user-month with folded events is rewritten');
SELECT is((SELECT requests_all_time FROM analytics.mv_document_popularity WHERE document_id = 'docB'),
          (SELECT requests_all_time FROM analytics.document_popularity_source WHERE document_id = 'docB'),
          'a document with folded events is rewritten');
SELECT is(ARRAY(SELECT DISTINCT message_count FROM analytics.mv_user_monthly_summary WHERE user_id IN ('u1', 'u4')),
          '{-1}'::bigint[], 'user-months without changes are not rewritten');
SELECT is(ARRAY(SELECT requests_all_time FROM analytics.mv_document_popularity WHERE document_id IN ('docA', 'docQ')),
          '{-1,-1}'::bigint[], 'documents without changes are not rewritten');
SELECT lives_ok('SELECT analytics.refresh_all_views()', 'a refresh with nothing changed');
SELECT is((SELECT count(*) FROM analytics.mv_user_monthly_summary WHERE message_count = -1), :tampered::bigint,
  'and it rewrites nothing');

-- Feedback and a correction of folded events move the rollups outside the
-- fold: their user-months and documents are rewritten.
SET usage_analytics.user_id = 'u1';
SELECT analytics.record_feedback((SELECT id FROM analytics.chat_events
                                   WHERE user_id = 'u1' AND document_id = 'docA' ORDER BY id LIMIT 1), 5) \gset
RESET usage_analytics.user_id;
SELECT analytics.correct_event((SELECT id FROM analytics.chat_events WHERE user_id = 'u4'), 'billing fix',
                               input_tokens => 999) \gset
SELECT analytics.refresh_all_views() \gset
SELECT is((SELECT array_agg(s.message_count ORDER BY s.user_id) FROM analytics.mv_user_monthly_summary s
            WHERE (s.user_id, s.month) IN (('u1', date_trunc('month', (now() AT TIME ZONE 'UTC')::date)),
                                           ('u4', date_trunc('month', (now() AT TIME ZONE 'UTC')::date - 5)))),
          (SELECT array_agg(s.message_count ORDER BY s.user_id) FROM analytics.user_monthly_summary_source s
            WHERE (s.user_id, s.month) IN (('u1', date_trunc('month', (now() AT TIME ZONE 'UTC')::date)),
                                           ('u4', date_trunc('month', (now() AT TIME ZONE 'UTC')::date - 5)))),
  'feedback and corrections rewrite their user-months');
SELECT is(ARRAY(SELECT requests_all_time FROM analytics.mv_document_popularity WHERE document_id IN ('docA', 'docQ') ORDER BY 1),
          ARRAY(SELECT requests_all_time FROM analytics.document_popularity_source WHERE document_id IN ('docA', 'docQ') ORDER BY 1),
          'and their documents');
SELECT is((SELECT avg_feedback_rating FROM analytics.mv_document_popularity WHERE document_id = 'docA'), 5.00,
  'the rating is in the document''s row');

-- The UTC day moves: documents with a day leaving the 7- or 30-day window
-- are rewritten (docW has events 7 days ago, docQ only 5 days ago).
UPDATE analytics.mv_document_popularity SET requests_7d = -1 WHERE document_id IN ('docW', 'docQ');
UPDATE analytics.summary_refresh SET utc_day = utc_day - 1;
SELECT analytics.refresh_all_views() \gset
SELECT is((SELECT requests_7d FROM analytics.mv_document_popularity WHERE document_id = 'docW'),
          (SELECT requests_7d FROM analytics.document_popularity_source WHERE document_id = 'docW'),
          'a document whose window lost a day is rewritten');
SELECT is((SELECT requests_7d FROM analytics.mv_document_popularity WHERE document_id = 'docQ'), -1::bigint,
  'one whose windows kept their days is not');

-- A rebuild of the rollups rebuilds every summary row.
SELECT analytics.rebuild_rollups(((now() AT TIME ZONE 'UTC')::date - 60), (now() AT TIME ZONE 'UTC')::date) \gset
SELECT analytics.refresh_all_views() \gset
SELECT is(pg_temp.drift('mv_user_monthly_summary'), 0::bigint, 'after a rebuild: mv_user_monthly_summary equals its source');
SELECT is(pg_temp.drift('mv_document_popularity'), 0::bigint, 'and mv_document_popularity');
SELECT is((SELECT count(*) FROM analytics.summary_changes), 0::bigint, 'the refresh consumed the changes');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
