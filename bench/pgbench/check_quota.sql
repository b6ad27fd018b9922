\set u random_zipfian(1, 10000, 1.1)
SELECT analytics.check_quota('user_' || :u, 1000);
