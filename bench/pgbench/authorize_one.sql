SELECT a.allowed FROM bench.keys k, analytics.authorize_api_request(k.api_key, 'https://app.example.com', '10.1.2.3', 'read') a WHERE k.i = 1;
