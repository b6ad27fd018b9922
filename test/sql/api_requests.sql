\set ECHO none
-- API-request metering and widgets: every refused argument with its
-- SQLSTATE, idempotency, the append-only log, rollups equal to the raw log
-- after folds (exactly once), read-your-writes reads, percentiles, payload
-- retention and retention.  The fold folds committed transactions only:
-- this file commits as it goes.
\set autocommit on
\i test/setup.psql
SELECT plan(123);

SELECT analytics.ensure_partitions(0) \gset
INSERT INTO analytics.organizations (org_id, name, slug) VALUES
  ('acme', 'Acme', 'acme'), ('globex', 'Globex', 'globex');

/* ---- Widgets ------------------------------------------------------------- */

SELECT is((SELECT row(w.org_id, w.widget_id, w.type, w.name, w.allowed_domains, w.status, w.settings)::text
             FROM analytics.create_widget('acme', 'w1', 'forecast', 'Forecast',
                                          '{Example.com,*.example.com,example.com,localhost:8080}',
                                          '{"theme": "dark"}') w),
  '(acme,w1,forecast,Forecast,"{*.example.com,example.com,localhost:8080}",active,"{""theme"": ""dark""}")',
  'create_widget returns the widget, domains lower-cased, sorted, distinct');
SELECT is((SELECT status FROM analytics.create_widget('acme', 'w2', 'map', 'Map', status => 'paused')), 'paused',
  'a widget may start paused');
SELECT is((SELECT widget_id FROM analytics.create_widget('globex', 'g1', 'chat', 'Chat')), 'g1',
  'another organization''s widget');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w1', 'forecast', 'Again')$$,
  '23505', 'widget ''w1'' of organization ''acme'' already exists', 'a taken widget id');
SELECT throws_ok($$SELECT analytics.create_widget('nope', 'w9', 'forecast', 'X')$$,
  '42704', 'organization ''nope'' does not exist', 'create_widget: unknown organization');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'forecast', NULL)$$,
  '23502', 'org_id, widget_id, type, name, settings and status must not be NULL', 'create_widget: NULL name');
SELECT throws_ok($$SELECT analytics.create_widget('acme', '', 'forecast', 'X')$$,
  '22023', 'widget_id must not be empty', 'create_widget: empty widget_id');
SELECT throws_ok($$SELECT analytics.create_widget('acme', repeat('w', 257), 'forecast', 'X')$$,
  '22001', 'widget_id is longer than 256 bytes', 'create_widget: widget_id too long');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'Fore cast', 'X')$$,
  '22023', 'type must be a lower-case label (a letter, then up to 63 letters, digits, _ or -)',
  'create_widget: bad type');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'forecast', '')$$,
  '22023', 'name must not be empty', 'create_widget: empty name');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'forecast', repeat('n', 129))$$,
  '22001', 'name is longer than 128 bytes', 'create_widget: name too long');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'forecast', 'X', settings => '[1]')$$,
  '22023', 'settings must be a JSON object', 'create_widget: settings not an object');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'forecast', 'X', status => 'deleted')$$,
  '22023', 'status must be active, paused or archived', 'create_widget: bad status');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'forecast', 'X', '{https://example.com/x}')$$,
  '22023', 'allowed_domains entry ''https://example.com/x'' is not a host name', 'create_widget: a URL is not a domain');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'forecast', 'X', '{NULL}')$$,
  '22023', 'allowed_domains entry NULL is not a host name', 'create_widget: a NULL domain');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'forecast', 'X',
                                                  ARRAY(SELECT 'd' || i || '.com' FROM generate_series(1, 101) i))$$,
  '22023', 'allowed_domains has more than 100 entries', 'create_widget: too many domains');
SELECT throws_ok($$SELECT analytics.create_widget('acme', 'w9', 'forecast', 'X', NULL)$$,
  '23502', 'allowed_domains must not be NULL', 'create_widget: NULL domains');

SELECT is((SELECT row(w.type, w.name, w.allowed_domains, w.status, w.settings)::text
             FROM analytics.update_widget('acme', 'w2', name => 'Big map', allowed_domains => '{a.example.org}') w),
  '(map,"Big map",{a.example.org},paused,{})', 'update_widget changes what is given and keeps the rest');
SELECT throws_ok($$SELECT analytics.update_widget('acme', 'g1', name => 'mine')$$,
  '42704', 'widget ''g1'' of organization ''acme'' does not exist', 'update_widget: another organization''s widget is unknown');
SELECT throws_ok($$SELECT analytics.update_widget(NULL, 'w2')$$,
  '23502', 'org_id and widget_id must not be NULL', 'update_widget: NULL ids');
SELECT throws_ok($$SELECT analytics.update_widget('acme', 'w2', type => 'A')$$,
  '22023', 'type must be a lower-case label (a letter, then up to 63 letters, digits, _ or -)', 'update_widget: bad type');
SELECT throws_ok($$SELECT analytics.update_widget('acme', 'w2', name => '')$$,
  '22023', 'name must not be empty', 'update_widget: empty name');
SELECT throws_ok($$SELECT analytics.update_widget('acme', 'w2', name => repeat('n', 129))$$,
  '22001', 'name is longer than 128 bytes', 'update_widget: name too long');
SELECT throws_ok($$SELECT analytics.update_widget('acme', 'w2', settings => '"x"')$$,
  '22023', 'settings must be a JSON object', 'update_widget: settings not an object');
SELECT throws_ok($$SELECT analytics.update_widget('acme', 'w2', status => 'gone')$$,
  '22023', 'status must be active, paused or archived', 'update_widget: bad status');
SELECT throws_ok($$SELECT analytics.update_widget('acme', 'w2', allowed_domains => '{"a b"}')$$,
  '22023', 'allowed_domains entry ''a b'' is not a host name', 'update_widget: bad domain');
SELECT is((SELECT status FROM analytics.update_widget('acme', 'w2', status => 'archived')), 'archived',
  'a widget is archived');
SELECT throws_ok($$SELECT analytics.update_widget('acme', 'w2', status => 'active')$$,
  '55000', 'widget ''w2'' is archived', 'an archived widget is final');

/* ---- record_api_request: every refused argument --------------------------- */

SELECT throws_ok($$SELECT analytics.record_api_request(NULL, '/v1/x', 'GET', 200)$$,
  '23502', 'org_id, endpoint, method, status_code, cached and billable_units must not be NULL', 'NULL org_id');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', NULL, 'GET', 200)$$,
  '23502', NULL, 'NULL endpoint');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', NULL, 200)$$,
  '23502', NULL, 'NULL method');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', NULL)$$,
  '23502', NULL, 'NULL status_code');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, cached => NULL)$$,
  '23502', NULL, 'NULL cached');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, billable_units => NULL)$$,
  '23502', NULL, 'NULL billable_units');
SELECT throws_ok($$SELECT analytics.record_api_request('', '/v1/x', 'GET', 200)$$,
  '22023', 'org_id must not be empty', 'empty org_id');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '', 'GET', 200)$$,
  '22023', 'endpoint must not be empty', 'empty endpoint');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', repeat('/x', 513), 'GET', 200)$$,
  '22001', 'endpoint is longer than 1024 bytes', 'endpoint too long');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'FETCH', 200)$$,
  '22023', 'method ''FETCH'' is not an HTTP method', 'bad method');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 99)$$,
  '22023', 'status_code must be between 100 and 599', 'status code below 100');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 600)$$,
  '22023', 'status_code must be between 100 and 599', 'status code above 599');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, -1)$$,
  '22023', 'response_time_ms must be between 0 and 86400000 (one day)', 'negative latency');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, 'NaN')$$,
  '22023', NULL, 'NaN latency');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, 86400001)$$,
  '22023', NULL, 'latency over a day');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, billable_units => -1)$$,
  '22023', 'billable_units must be between 0 and 1000000000', 'negative billable units');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, widget_id => '')$$,
  '22023', 'widget_id must not be empty', 'empty widget_id');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, widget_id => 'nope')$$,
  '42704', 'widget ''nope'' of organization ''acme'' does not exist', 'unknown widget');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, widget_id => 'g1')$$,
  '42704', 'widget ''g1'' of organization ''acme'' does not exist', 'another organization''s widget is unknown');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, api_key_id => 0)$$,
  '22023', 'api_key_id must be positive', 'api_key_id not positive');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, origin => '')$$,
  '22023', 'origin must not be empty', 'empty origin');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, origin => repeat('o', 2049))$$,
  '22001', 'origin is longer than 2048 bytes', 'origin too long');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, user_agent => repeat('u', 1025))$$,
  '22001', 'user_agent is longer than 1024 bytes', 'user agent too long');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, country_code => 'ZZ')$$,
  '22023', 'country_code ''ZZ'' is not an ISO 3166-1 alpha-2 code', 'unassigned country code');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, country_code => 'NOR')$$,
  '22023', 'country_code ''NOR'' is not an ISO 3166-1 alpha-2 code', 'alpha-3 country code');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, metadata => '[1, 2]')$$,
  '22023', 'metadata must be a JSON object', 'metadata not an object');
SET usage_analytics.max_metadata_bytes = 64;
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200,
                                                      metadata => jsonb_build_object('k', repeat('x', 200)))$$,
  '54000', 'metadata is too large', 'metadata over max_metadata_bytes');
RESET usage_analytics.max_metadata_bytes;
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, request_id => '')$$,
  '22023', 'request_id must not be empty', 'empty request_id');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, request_id => repeat('r', 257))$$,
  '22001', 'request_id is longer than 256 bytes', 'request_id too long');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, user_id => '')$$,
  '22023', 'user_id must not be empty', 'empty user_id');
SELECT throws_ok($$SELECT analytics.record_api_request(repeat('o', 257), '/v1/x', 'GET', 200)$$,
  '22001', 'an id is longer than 256 bytes', 'org_id too long');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, occurred_at => 'infinity')$$,
  '22008', 'occurred_at must be finite and at most 5 minutes in the future', 'infinite occurred_at');
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200, occurred_at => now() + interval '1 hour')$$,
  '22008', 'occurred_at must be finite and at most 5 minutes in the future', 'occurred_at in the future');
SELECT throws_ok($$SELECT analytics.record_api_request('nope', '/v1/x', 'GET', 200)$$,
  '42704', 'organization ''nope'' does not exist', 'unknown organization');
SELECT is((SELECT count(*) FROM analytics.api_requests), 0::bigint, 'no refused request was recorded');
SELECT is((SELECT count(*) FROM analytics.api_request_keys), 0::bigint, 'and no idempotency key was taken');

/* ---- Recording and idempotency ------------------------------------------- */

SELECT analytics.record_api_request('acme', '/v1/forecast', 'get', 200, 12.4, widget_id => 'w1', billable_units => 1,
         api_key_id => 7, origin => 'https://example.com', user_agent => 'UA/1', ip_address => '192.0.2.1',
         country_code => 'no', metadata => '{"ref": "x"}', request_id => 'r1', user_id => 'alice') AS first_id \gset
SELECT is(analytics.record_api_request('acme', '/v1/other', 'POST', 500, request_id => 'r1'), :first_id::bigint,
  'a repeat of (org_id, request_id) returns the first id');
SELECT is((SELECT count(*) FROM analytics.api_requests WHERE request_id = 'r1'), 1::bigint, 'and records nothing');
SELECT isnt(analytics.record_api_request('globex', '/v1/forecast', 'GET', 200, request_id => 'r1'), :first_id::bigint,
  'the same request_id in another organization is another request');
SELECT is((SELECT row(method, status_code, response_time_ms, country_code, cached, billable_units, api_key_id,
                      user_id, origin, host(ip_address), user_agent, metadata)::text
             FROM analytics.api_requests WHERE id = :first_id),
  '(GET,200,12,NO,f,1,7,alice,https://example.com,192.0.2.1,UA/1,"{""ref"": ""x""}")',
  'method and country code upper-cased, latency rounded to whole milliseconds, every field kept');
SELECT is((SELECT count(*) FROM analytics.api_request_keys WHERE org_id = 'acme' AND request_id = 'r1'), 1::bigint,
  'one idempotency key per organization and request');
SELECT is((SELECT recorded_xid > 0 FROM analytics.api_requests WHERE id = :first_id), true,
  'the request carries its transaction id for the fold');

-- The log is append-only.
SELECT throws_ok($$UPDATE analytics.api_requests SET status_code = 201$$,
  '42501', 'UPDATE of analytics.api_requests is not allowed', 'no UPDATE of the log');
SELECT throws_ok($$DELETE FROM analytics.api_requests$$,
  '42501', 'DELETE of analytics.api_requests is not allowed', 'no DELETE of the log');
SELECT throws_ok($$TRUNCATE analytics.api_requests$$,
  '42501', 'TRUNCATE of analytics.api_requests is not allowed', 'no TRUNCATE of the log');
SELECT throws_ok(format('TRUNCATE analytics.api_requests_%s', to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')),
  '42501', 'TRUNCATE of analytics.api_requests is not allowed', 'no TRUNCATE of a monthly partition');
SELECT throws_ok($$TRUNCATE analytics.api_requests_default$$,
  '42501', 'TRUNCATE of analytics.api_requests is not allowed', 'no TRUNCATE of the default partition');

/* ---- A workload, folds, rollups equal to the raw log ----------------------- */

-- Two organizations, keys, endpoints, every status class, cached requests,
-- widgets, two UTC days (yesterday and today), some rolled back.
CREATE FUNCTION pg_temp.workload(n integer, seed float8) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM setseed(seed);
  FOR i IN 1..n LOOP
    BEGIN
      PERFORM analytics.record_api_request(
        org_id => CASE WHEN random() < 0.7 THEN 'acme' ELSE 'globex' END,
        endpoint => (ARRAY['/v1/forecast', '/v1/map', '/v1/chat'])[1 + floor(random() * 3)::int],
        method => (ARRAY['GET', 'POST'])[1 + floor(random() * 2)::int],
        status_code => (ARRAY[101, 200, 200, 200, 204, 304, 404, 429, 500, 503])[1 + floor(random() * 10)::int],
        response_time_ms => CASE WHEN random() < 0.9 THEN 1 + random() ^ 2 * 3000 END,
        cached => random() < 0.25,
        billable_units => floor(random() * 3)::bigint,
        api_key_id => CASE WHEN random() < 0.8 THEN 1 + floor(random() * 3)::bigint END,
        occurred_at => date_trunc('day', now()) - CASE WHEN random() < 0.4 THEN interval '12 hours' ELSE interval '0' END
                       + random() * least(now() - date_trunc('day', now()), interval '11 hours'),
        request_id => CASE WHEN random() < 0.3 THEN 'k' || floor(random() * 40)::int END);
      IF random() < 0.1 THEN
        RAISE EXCEPTION 'roll back';
      END IF;
    EXCEPTION WHEN raise_exception THEN
      NULL;
    END;
  END LOOP;
END
$$;
-- Widget traffic: impressions.
SELECT count(analytics.record_api_request(o, '/v1/widget', 'GET', 200, 5, widget_id => w, billable_units => 1))
  FROM (VALUES ('acme', 'w1'), ('acme', 'w1'), ('acme', 'w2'), ('globex', 'g1')) v(o, w) \gset
SELECT pg_temp.workload(150, 0.21) \gset
SELECT is_empty('SELECT * FROM analytics.rollup_api_daily', 'nothing is folded before the fold');
SELECT is((SELECT sum(requests) FROM analytics.api_daily_summary), (SELECT count(*) FROM analytics.api_requests)::numeric,
  'read-your-writes: the daily summary counts every recorded request before any fold');
SELECT ok(analytics.fold() >= 0, 'fold');
SELECT is((SELECT sum(requests) FROM analytics.rollup_api_daily), (SELECT count(*) FROM analytics.api_requests)::numeric,
  'the fold folded every request');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'the API rollups equal the raw log (verify_rollups)');
SELECT pg_temp.workload(120, 0.42) \gset
SELECT is((SELECT sum(requests) FROM analytics.api_daily_usage), (SELECT count(*) FROM analytics.api_requests)::numeric,
  'read-your-writes: rollups plus the unfolded tail');
SELECT ok(analytics.fold() >= 0, 'a second fold');
SELECT ok(analytics.fold() >= 0, 'a third fold, with nothing new');
SELECT is((SELECT sum(requests) FROM analytics.rollup_api_daily), (SELECT count(*) FROM analytics.api_requests)::numeric,
  'each request folded exactly once');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'still equal to the raw log');

-- Exact figures of one organization and day, against the raw log.
SELECT is((SELECT row(s.requests, s.successful_requests, s.errors, s.client_errors, s.server_errors, s.error_rate,
                      s.billable_units, s.distinct_endpoints, s.distinct_api_keys, s.cached_requests, s.cached_share,
                      s.last_seen)::text
             FROM analytics.api_daily_summary s WHERE s.org_id = 'acme' AND s.date = (now() AT TIME ZONE 'UTC')::date),
          (SELECT row(count(*), count(*) FILTER (WHERE status_code BETWEEN 200 AND 299),
                      count(*) FILTER (WHERE status_code >= 400), count(*) FILTER (WHERE status_code BETWEEN 400 AND 499),
                      count(*) FILTER (WHERE status_code >= 500),
                      round(100.0 * count(*) FILTER (WHERE status_code >= 400) / count(*), 2),
                      sum(billable_units), count(DISTINCT endpoint), count(DISTINCT api_key_id),
                      count(*) FILTER (WHERE cached), round(100.0 * count(*) FILTER (WHERE cached) / count(*), 2),
                      max(occurred_at))::text
             FROM analytics.api_requests WHERE org_id = 'acme' AND (occurred_at AT TIME ZONE 'UTC')::date = (now() AT TIME ZONE 'UTC')::date),
  'api_daily_summary: requests, successes, errors by class, error rate, units, distinct endpoints and keys, cached share');
SELECT is((SELECT sum(status_1xx + status_2xx + status_3xx + status_4xx + status_5xx) FROM analytics.rollup_api_daily),
          (SELECT sum(requests) FROM analytics.rollup_api_daily), 'the status classes add up to the requests');
SELECT is((SELECT array_agg(row(widget_id, date, requests, impressions)::text ORDER BY widget_id, date)
             FROM analytics.widget_daily_usage WHERE org_id = 'acme'),
          ARRAY[row('w1', (now() AT TIME ZONE 'UTC')::date, 3, 3)::text, row('w2', (now() AT TIME ZONE 'UTC')::date, 1, 1)::text],
  'impressions per widget and day');

/* ---- Percentiles per endpoint ------------------------------------------- */

SELECT count(analytics.record_api_request('acme', '/v1/p', 'GET', 200, i)) FROM generate_series(1, 1000) i \gset
SELECT is((SELECT row(requests, errors, avg_response_time_ms)::text FROM analytics.api_endpoint_latency('acme')
            WHERE endpoint = '/v1/p'), '(1000,0,500)', 'an endpoint''s requests, errors and average latency (unfolded)');
SELECT ok((SELECT p50_response_time_ms BETWEEN 495 AND 505 AND p95_response_time_ms BETWEEN 940 AND 960
                  AND p99_response_time_ms BETWEEN 980 AND 1000
             FROM analytics.api_endpoint_latency('acme') WHERE endpoint = '/v1/p'),
  'p50, p95, p99 within the sketch''s 1 % of 500, 950, 990 ms');
SELECT row(p50_response_time_ms, p95_response_time_ms, p99_response_time_ms)::text AS before_fold
  FROM analytics.api_endpoint_latency('acme') WHERE endpoint = '/v1/p' \gset
SELECT ok(analytics.fold() >= 0, 'fold the percentiles');
SELECT is((SELECT row(p50_response_time_ms, p95_response_time_ms, p99_response_time_ms)::text
             FROM analytics.api_endpoint_latency('acme') WHERE endpoint = '/v1/p'), :'before_fold',
  'the same percentiles from the folded sketch');
SELECT is((SELECT array_agg(endpoint ORDER BY endpoint) FROM analytics.api_endpoint_latency('acme', current_date, current_date)),
          (SELECT array_agg(DISTINCT endpoint ORDER BY endpoint) FROM analytics.api_requests
            WHERE org_id = 'acme' AND (occurred_at AT TIME ZONE 'UTC')::date = current_date),
  'api_endpoint_latency over a range of days lists the endpoints of those days');
SELECT is((SELECT round(analytics.quantile(latency, 0.95))::integer FROM analytics.api_daily_usage
            WHERE org_id = 'acme' AND endpoint = '/v1/p'),
          (SELECT p95_response_time_ms FROM analytics.api_endpoint_latency('acme') WHERE endpoint = '/v1/p'),
  'the sketch of api_daily_usage gives the same p95');

/* ---- Rebuild, payload retention, retention --------------------------------- */

SELECT analytics.rebuild_rollups(current_date - 1, current_date) \gset
SELECT is((SELECT sum(requests) FROM analytics.rollup_api_daily), (SELECT count(*) FROM analytics.api_requests)::numeric,
  'rebuild_rollups rebuilds the API rollups');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'equal to the raw log after the rebuild');

SELECT analytics.record_api_request('acme', '/v1/old', 'GET', 200, 10, ip_address => '192.0.2.9', user_agent => 'old',
         metadata => '{"a": 1}', occurred_at => now() - interval '3 days', request_id => 'old') AS old_id \gset
SET usage_analytics.payload_retention_days = 2;
SELECT ok(analytics.clear_payloads() >= 1, 'clear_payloads clears API requests too');
RESET usage_analytics.payload_retention_days;
SELECT is((SELECT row(ip_address, user_agent, metadata, endpoint, status_code, response_time_ms)::text
             FROM analytics.api_requests WHERE id = :old_id),
  '(,,,/v1/old,200,10)', 'ip address, user agent and metadata cleared; the figures stay');
SELECT isnt((SELECT ip_address FROM analytics.api_requests WHERE id = :first_id), NULL, 'the first request keeps its address');
SET usage_analytics.payload_retention_days = 2;
SELECT analytics.record_api_request('acme', '/v1/late', 'GET', 200, ip_address => '192.0.2.7', user_agent => 'late',
         metadata => '{"b": 2}', occurred_at => now() - interval '3 days') AS late_id \gset
SELECT is((SELECT row(ip_address, user_agent, metadata, endpoint)::text FROM analytics.api_requests WHERE id = :late_id),
  '(,,,/v1/late)', 'a request recorded already past payload retention never stores its payload');
RESET usage_analytics.payload_retention_days;

-- The direct insert gives way to a plain INSERT when a trigger is on the
-- log; a trigger that changes the recorded figures is refused.
CREATE FUNCTION pg_temp.bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.status_code := 201;
  RETURN NEW;
END
$$;
CREATE TRIGGER bump BEFORE INSERT ON analytics.api_requests FOR EACH ROW EXECUTE FUNCTION pg_temp.bump();
SELECT throws_ok($$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200)$$,
  '09000', 'a trigger on analytics.api_requests changed the recorded API request',
  'a BEFORE INSERT trigger that changes the request is refused');
DROP TRIGGER bump ON analytics.api_requests;

-- A month far past retention: waits in the default partition, gets its
-- partition, is folded, then dropped with its idempotency keys.
SELECT analytics.record_api_request('acme', '/v1/ancient', 'GET', 200, 10, occurred_at => '2024-03-05 10:00+00',
         request_id => 'ancient') AS ancient_id \gset
SELECT is((SELECT count(*) FROM analytics.api_requests_default WHERE id = :ancient_id), 1::bigint,
  'a request of a month without a partition waits in the default partition');
SELECT ok(analytics.ensure_partitions(0) >= 1, 'ensure_partitions makes its month');
SELECT is((SELECT tableoid::regclass::text FROM analytics.api_requests WHERE id = :ancient_id),
  'analytics.api_requests_202403', 'and moves it there');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'analytics.api_requests_202403'::regclass
             AND tgname = 'api_requests_no_truncate'), 1::bigint, 'the new partition refuses TRUNCATE');
SELECT ok(analytics.apply_retention() >= 1, 'apply_retention drops old months');
SELECT is(to_regclass('analytics.api_requests_202403'), NULL, 'the old API month is gone');
SELECT is((SELECT requests FROM analytics.rollup_api_daily WHERE org_id = 'acme' AND endpoint = '/v1/ancient'), 1::bigint,
  'its rollups stay');
SELECT is((SELECT count(*) FROM analytics.api_request_keys WHERE request_id = 'ancient'), 0::bigint,
  'its idempotency keys are gone');
SELECT is_empty('SELECT * FROM analytics.verify_rollups()', 'rollups equal to the raw log from the retention horizon on');

/* ---- Access: who reads what --------------------------------------------- */

CREATE ROLE ua_api_user;
CREATE ROLE ua_api_app;
CREATE ROLE ua_api_orgadmin;
SELECT analytics.grant_end_user('ua_api_user') \gset
SELECT analytics.grant_app_backend('ua_api_app') \gset
SELECT analytics.grant_admin('ua_api_orgadmin', 'globex') \gset
INSERT INTO analytics.org_members (org_id, user_id, role) VALUES
  ('acme', 'olivia', 'owner'), ('acme', 'adam', 'admin'), ('acme', 'mia', 'member'), ('acme', 'alice', 'viewer');

SELECT is(pg_temp.as_role('ua_api_app', $$SELECT count(DISTINCT org_id) FROM analytics.api_daily_summary$$), '2',
  'the app backend reads every organization''s summary');
SELECT is(pg_temp.as_role('ua_api_orgadmin', $$SELECT string_agg(DISTINCT org_id, ',') FROM analytics.api_daily_summary$$),
  'globex', 'an organization-scoped admin role reads its organization''s summary');
SELECT is(pg_temp.as_role('ua_api_orgadmin', $$SELECT string_agg(DISTINCT org_id, ',') FROM analytics.api_requests$$),
  'globex', 'and its organization''s requests');
SET usage_analytics.user_id = 'olivia';
SELECT is(pg_temp.as_role('ua_api_user', $$SELECT string_agg(DISTINCT org_id, ',') FROM analytics.api_daily_summary$$),
  'acme', 'an owner identity reads its organization''s summary');
SELECT is(pg_temp.as_role('ua_api_user', $$SELECT count(*) FROM analytics.widgets$$), '2',
  'and its organization''s widgets');
SET usage_analytics.user_id = 'adam';
SELECT is(pg_temp.as_role('ua_api_user', $$SELECT string_agg(DISTINCT org_id, ',') FROM analytics.rollup_api_daily$$),
  'acme', 'an admin identity reads its organization''s rollups');
SELECT sum(requests) || '/' || sum(billable_units) AS acme_totals FROM analytics.api_daily_summary WHERE org_id = 'acme' \gset
SET usage_analytics.user_id = 'mia';
SELECT is(pg_temp.as_role('ua_api_user', $$SELECT string_agg(DISTINCT org_id, ',') || ' ' || sum(requests) || '/' || sum(billable_units)
                                            FROM analytics.api_daily_summary$$), 'acme ' || :'acme_totals',
  'a member identity reads its organization''s totals: every member''s requests, folded or not');
SET usage_analytics.user_id = 'alice';
SELECT is(pg_temp.as_role('ua_api_user', $$SELECT count(*) || '/' || count(*) FILTER (WHERE user_id = 'alice') FROM analytics.api_requests$$),
  '1/1', 'an identity reads the requests made for it, nothing else');
SELECT is(pg_temp.as_role('ua_api_user', $$SELECT string_agg(DISTINCT org_id, ',') FROM analytics.api_daily_usage$$), 'acme',
  'a viewer identity reads its organization''s totals');
SET usage_analytics.user_id = 'zed';
SELECT is(pg_temp.as_role('ua_api_user', $$SELECT count(*) || '/' || (SELECT count(*) FROM analytics.widget_daily_usage)
                                            FROM analytics.api_daily_usage$$), '0/0',
  'an identity of no organization reads no totals');
RESET usage_analytics.user_id;
SELECT is(pg_temp.as_role('ua_api_user', $$SELECT analytics.record_api_request('acme', '/v1/x', 'GET', 200)::text$$),
  'ERROR 42501', 'an end user cannot record API requests');
SELECT is(pg_temp.as_role('ua_api_user', $$SELECT (analytics.create_widget('acme', 'x', 'map', 'X')).widget_id$$),
  'ERROR 42501', 'nor create widgets');
SELECT is(pg_temp.as_role('ua_api_app', $$SELECT (analytics.update_widget('acme', 'w1', name => 'F')).name$$),
  'F', 'the app backend updates widgets');

SELECT * FROM finish();
DROP EXTENSION usage_analytics;
DROP OWNED BY ua_api_user, ua_api_app, ua_api_orgadmin;
DROP ROLE ua_api_user, ua_api_app, ua_api_orgadmin;
