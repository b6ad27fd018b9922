CREATE OR REPLACE FUNCTION analytics.record_feedback(event_id bigint, rating integer, feedback_text text DEFAULT NULL)
  RETURNS void
  LANGUAGE C VOLATILE CALLED ON NULL INPUT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_record_feedback';
COMMENT ON FUNCTION analytics.record_feedback(bigint, integer, text) IS
  'Rates an event 1-5 (again: replaces the rating); end users may rate only their own events';
REVOKE ALL ON FUNCTION analytics.record_feedback(bigint, integer, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.record_feedback(bigint, integer, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
