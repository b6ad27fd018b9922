\set o random(1, 100)
\set k random(1, 1000)
\set t random(5, 900)
INSERT INTO analytics.api_requests (org_id, occurred_at, endpoint, method, status_code, response_time_ms, cached, billable_units, api_key_id, country_code, ip_address, user_agent, recorded_xid)
VALUES ('org_' || :o, now(), '/v1/forecast', 'GET', 200, :t, false, 1, :k, 'NO', '10.0.0.1', 'bench/1.0', 0);
