/*
 * Records one API request and returns its id.  Every argument is checked
 * before anything is written; a repeat of (org_id, request_id) returns the
 * first request's id and records nothing (a concurrent repeat waits for
 * the first).  The organization and the widget are only read, not locked:
 * a busy organization's requests share no row (organizations are
 * suspended and widgets archived, not deleted, by the extension).
 */
CREATE OR REPLACE FUNCTION analytics.record_api_request(
    org_id text, endpoint text, method text, status_code integer,
    response_time_ms double precision DEFAULT NULL, cached boolean DEFAULT false,
    widget_id text DEFAULT NULL, billable_units bigint DEFAULT 0, api_key_id bigint DEFAULT NULL,
    origin text DEFAULT NULL, user_agent text DEFAULT NULL, ip_address inet DEFAULT NULL,
    country_code text DEFAULT NULL, metadata jsonb DEFAULT NULL, request_id text DEFAULT NULL,
    occurred_at timestamptz DEFAULT NULL, user_id text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
#variable_conflict use_variable
DECLARE
  m   text := upper(method);
  cc  text := upper(country_code);
  t_at timestamptz := COALESCE(occurred_at, now());
  ms  integer;
  id  bigint;
BEGIN
  IF org_id IS NULL OR endpoint IS NULL OR method IS NULL OR status_code IS NULL OR cached IS NULL
     OR billable_units IS NULL THEN
    RAISE EXCEPTION 'org_id, endpoint, method, status_code, cached and billable_units must not be NULL'
      USING ERRCODE = '23502';
  END IF;
  IF org_id = '' THEN
    RAISE EXCEPTION 'org_id must not be empty' USING ERRCODE = '22023';
  END IF;
  IF endpoint = '' THEN
    RAISE EXCEPTION 'endpoint must not be empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(endpoint) > 1024 THEN
    RAISE EXCEPTION 'endpoint is longer than 1024 bytes' USING ERRCODE = '22001';
  END IF;
  IF m NOT IN ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE') THEN
    RAISE EXCEPTION 'method % is not an HTTP method', quote_literal(method) USING ERRCODE = '22023';
  END IF;
  IF status_code NOT BETWEEN 100 AND 599 THEN
    RAISE EXCEPTION 'status_code must be between 100 and 599' USING ERRCODE = '22023';
  END IF;
  IF response_time_ms IS NOT NULL THEN
    IF response_time_ms = 'NaN' OR response_time_ms NOT BETWEEN 0 AND 86400000 THEN
      RAISE EXCEPTION 'response_time_ms must be between 0 and 86400000 (one day)' USING ERRCODE = '22023';
    END IF;
    ms := round(response_time_ms);
  END IF;
  IF billable_units NOT BETWEEN 0 AND 1000000000 THEN
    RAISE EXCEPTION 'billable_units must be between 0 and 1000000000' USING ERRCODE = '22023';
  END IF;
  IF widget_id = '' THEN
    RAISE EXCEPTION 'widget_id must not be empty' USING ERRCODE = '22023';
  END IF;
  IF api_key_id <= 0 THEN
    RAISE EXCEPTION 'api_key_id must be positive' USING ERRCODE = '22023';
  END IF;
  IF origin = '' THEN
    RAISE EXCEPTION 'origin must not be empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(origin) > 2048 THEN
    RAISE EXCEPTION 'origin is longer than 2048 bytes' USING ERRCODE = '22001';
  END IF;
  IF octet_length(user_agent) > 1024 THEN
    RAISE EXCEPTION 'user_agent is longer than 1024 bytes' USING ERRCODE = '22001';
  END IF;
  -- ISO 3166-1 alpha-2: the 249 assigned codes and XK (Kosovo, as GeoIP
  -- databases report it).
  IF cc NOT IN ('AD','AE','AF','AG','AI','AL','AM','AO','AQ','AR','AS','AT','AU','AW','AX','AZ','BA','BB','BD',
      'BE','BF','BG','BH','BI','BJ','BL','BM','BN','BO','BQ','BR','BS','BT','BV','BW','BY','BZ','CA','CC','CD',
      'CF','CG','CH','CI','CK','CL','CM','CN','CO','CR','CU','CV','CW','CX','CY','CZ','DE','DJ','DK','DM','DO',
      'DZ','EC','EE','EG','EH','ER','ES','ET','FI','FJ','FK','FM','FO','FR','GA','GB','GD','GE','GF','GG','GH',
      'GI','GL','GM','GN','GP','GQ','GR','GS','GT','GU','GW','GY','HK','HM','HN','HR','HT','HU','ID','IE','IL',
      'IM','IN','IO','IQ','IR','IS','IT','JE','JM','JO','JP','KE','KG','KH','KI','KM','KN','KP','KR','KW','KY',
      'KZ','LA','LB','LC','LI','LK','LR','LS','LT','LU','LV','LY','MA','MC','MD','ME','MF','MG','MH','MK','ML',
      'MM','MN','MO','MP','MQ','MR','MS','MT','MU','MV','MW','MX','MY','MZ','NA','NC','NE','NF','NG','NI','NL',
      'NO','NP','NR','NU','NZ','OM','PA','PE','PF','PG','PH','PK','PL','PM','PN','PR','PS','PT','PW','PY','QA',
      'RE','RO','RS','RU','RW','SA','SB','SC','SD','SE','SG','SH','SI','SJ','SK','SL','SM','SN','SO','SR','SS',
      'ST','SV','SX','SY','SZ','TC','TD','TF','TG','TH','TJ','TK','TL','TM','TN','TO','TR','TT','TV','TW','TZ',
      'UA','UG','UM','US','UY','UZ','VA','VC','VE','VG','VI','VN','VU','WF','WS','YE','YT','ZA','ZM','ZW','XK') THEN
    RAISE EXCEPTION 'country_code % is not an ISO 3166-1 alpha-2 code', quote_literal(country_code)
      USING ERRCODE = '22023';
  END IF;
  IF metadata IS NOT NULL THEN
    IF pg_column_size(metadata) - 4 > pg_size_bytes(regexp_replace(analytics.setting('max_metadata_bytes'), '^([0-9]+)B$', '\1 bytes')) THEN
      RAISE EXCEPTION 'metadata is too large' USING ERRCODE = '54000';
    END IF;
    IF jsonb_typeof(metadata) <> 'object' THEN
      RAISE EXCEPTION 'metadata must be a JSON object' USING ERRCODE = '22023';
    END IF;
  END IF;
  IF request_id = '' THEN
    RAISE EXCEPTION 'request_id must not be empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(request_id) > 256 THEN
    RAISE EXCEPTION 'request_id is longer than 256 bytes' USING ERRCODE = '22001';
  END IF;
  IF user_id = '' THEN
    RAISE EXCEPTION 'user_id must not be empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(user_id) > 256 OR octet_length(org_id) > 256 OR octet_length(widget_id) > 256 THEN
    RAISE EXCEPTION 'an id is longer than 256 bytes' USING ERRCODE = '22001';
  END IF;
  IF NOT isfinite(t_at) OR t_at > now() + interval '5 minutes' THEN
    RAISE EXCEPTION 'occurred_at must be finite and at most 5 minutes in the future' USING ERRCODE = '22008';
  END IF;
  PERFORM FROM analytics.organizations o WHERE o.org_id = org_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'organization % does not exist', quote_literal(org_id) USING ERRCODE = '42704';
  END IF;
  IF widget_id IS NOT NULL THEN
    PERFORM FROM analytics.widgets w WHERE w.org_id = org_id AND w.widget_id = widget_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'widget % of organization % does not exist', quote_literal(widget_id), quote_literal(org_id)
        USING ERRCODE = '42704';
    END IF;
  END IF;
  IF request_id IS NOT NULL THEN
    INSERT INTO analytics.api_request_keys AS k (org_id, request_id, api_request_id, occurred_at)
    VALUES (org_id, request_id, nextval('analytics.api_requests_id_seq'), t_at)
    ON CONFLICT ON CONSTRAINT api_request_keys_pkey DO NOTHING
    RETURNING k.api_request_id INTO id;
    IF NOT FOUND THEN
      -- A new statement: its snapshot sees the key of the transaction the
      -- INSERT waited for.
      SELECT k.api_request_id INTO id FROM analytics.api_request_keys k
       WHERE k.org_id = org_id AND k.request_id = request_id;
      RETURN id;
    END IF;
  ELSE
    id := nextval('analytics.api_requests_id_seq');
  END IF;
  INSERT INTO analytics.api_requests (id, org_id, occurred_at, endpoint, method, status_code, response_time_ms,
                                      cached, widget_id, billable_units, api_key_id, user_id, request_id, origin,
                                      country_code, ip_address, user_agent, metadata, recorded_xid)
  VALUES (id, org_id, t_at, endpoint, m, status_code, ms, cached, widget_id, billable_units, api_key_id, user_id,
          request_id, origin, cc, ip_address, user_agent, metadata, pg_current_xact_id()::text::bigint);
  RETURN id;
END
$$;
COMMENT ON FUNCTION analytics.record_api_request(text, text, text, integer, double precision, boolean, text, bigint,
                                                 bigint, text, text, inet, text, jsonb, text, timestamptz, text) IS
  'Records one API request of an organization (endpoint, method, status code, latency, cached, widget, billable units, API key, origin, user agent, IP, country, metadata, occurred_at, user) and returns its id; a repeat of (org_id, request_id) returns the first id and records nothing';
REVOKE ALL ON FUNCTION analytics.record_api_request(text, text, text, integer, double precision, boolean, text, bigint,
                                                    bigint, text, text, inet, text, jsonb, text, timestamptz, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.record_api_request(text, text, text, integer, double precision, boolean, text, bigint, bigint, text, text, inet, text, jsonb, text, timestamptz, text)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
