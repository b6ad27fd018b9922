/*
 * Records one API request and returns its id (C, api_request.c; the row
 * goes in through the write path's direct insert, event_insert.c).  Every
 * argument is checked before anything is written; a repeat of (org_id,
 * request_id) returns the first request's id and records nothing (a
 * concurrent repeat waits for the first).  The organization and the widget
 * are only read, not locked: a busy organization's requests share no row
 * (organizations are suspended and widgets archived, not deleted, by the
 * extension).
 */
CREATE OR REPLACE FUNCTION analytics.record_api_request(
    org_id text, endpoint text, method text, status_code integer,
    response_time_ms double precision DEFAULT NULL, cached boolean DEFAULT false,
    widget_id text DEFAULT NULL, billable_units bigint DEFAULT 0, api_key_id bigint DEFAULT NULL,
    origin text DEFAULT NULL, user_agent text DEFAULT NULL, ip_address inet DEFAULT NULL,
    country_code text DEFAULT NULL, metadata jsonb DEFAULT NULL, request_id text DEFAULT NULL,
    occurred_at timestamptz DEFAULT NULL, user_id text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_record_api_request';
COMMENT ON FUNCTION analytics.record_api_request(text, text, text, integer, double precision, boolean, text, bigint,
                                                 bigint, text, text, inet, text, jsonb, text, timestamptz, text) IS
  'Records one API request of an organization (endpoint, method, status code, latency, cached, widget, billable units, API key, origin, user agent, IP, country, metadata, occurred_at, user) and returns its id; a repeat of (org_id, request_id) returns the first id and records nothing';
REVOKE ALL ON FUNCTION analytics.record_api_request(text, text, text, integer, double precision, boolean, text, bigint,
                                                    bigint, text, text, inet, text, jsonb, text, timestamptz, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.record_api_request(text, text, text, integer, double precision, boolean, text, bigint, bigint, text, text, inet, text, jsonb, text, timestamptz, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
