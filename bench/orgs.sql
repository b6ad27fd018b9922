-- Organizations for the write benchmark (bench/write.sh): 200 organizations
-- on plan pro with the 10,000 users as members (user i in org_(i % 200 + 1)),
-- org_one with users 1-100, and org_eight_0 ... org_eight_7 with users 1-100
-- each.
SELECT count(analytics.create_organization('org_' || i, 'Org ' || i)) FROM generate_series(1, 200) i;
SELECT count(analytics.add_member('org_' || (i % 200 + 1), 'user_' || i)) FROM generate_series(1, 10000) i;
SELECT analytics.create_organization('org_one', 'Org one');
SELECT count(analytics.add_member('org_one', 'user_' || i)) FROM generate_series(1, 100) i;
SELECT count(analytics.create_organization('org_eight_' || c, 'Org eight ' || c)) FROM generate_series(0, 7) c;
SELECT count(analytics.add_member('org_eight_' || c, 'user_' || i)) FROM generate_series(0, 7) c, generate_series(1, 100) i;
SELECT count(analytics.subscribe(NULL, 'pro', now() - interval '1 day', org_id => o.org_id)) FROM analytics.organizations o;
