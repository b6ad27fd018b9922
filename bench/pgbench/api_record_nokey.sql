\set o random(1, 100)
\set k random(1, 1000)
\set t random(5, 900)
SELECT analytics.record_api_request('org_' || :o, '/v1/forecast', 'GET', 200, :t, false, billable_units => 1, api_key_id => :k, country_code => 'NO', ip_address => '10.0.0.1', user_agent => 'bench/1.0');
