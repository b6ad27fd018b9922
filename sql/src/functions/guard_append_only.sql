-- Append-only guard (C): UPDATE, DELETE and TRUNCATE of the log are refused
-- unless the extension's own C code is doing them.
CREATE OR REPLACE FUNCTION analytics.guard_append_only() RETURNS trigger
  LANGUAGE C AS 'MODULE_PATHNAME', 'ua_guard_append_only';
COMMENT ON FUNCTION analytics.guard_append_only() IS
  'Trigger refusing UPDATE, DELETE and TRUNCATE of analytics.chat_events (or of the log its argument names: analytics.api_requests) outside the extension''s functions';
REVOKE ALL ON FUNCTION analytics.guard_append_only() FROM PUBLIC;
