-- Identity across sessions (plain output): an end-user role that sets
-- usage_analytics.user_id before the library is loaded in its session gets
-- a placeholder, which is discarded with a warning when the library loads.
SET client_min_messages = warning;
CREATE EXTENSION usage_analytics;
CREATE ROLE ua_probe LOGIN;
SELECT analytics.grant_end_user('ua_probe');
SELECT analytics.record_chat_event('victim', 'gpt-4o') > 0 AS recorded;
SELECT current_user AS superuser \gset
\c - ua_probe
SET usage_analytics.user_id = 'victim';
SELECT analytics.current_user_id() IS NULL AS no_identity;
SELECT count(*) AS visible_events FROM analytics.chat_events;
SHOW usage_analytics.user_id;
SET usage_analytics.user_id = 'victim';
SET usage_analytics.no_such_setting = 'x';
\c - :superuser
DROP EXTENSION usage_analytics;
DROP ROLE ua_probe;
