\set ECHO none
\i test/setup.psql
SELECT plan(43);

-- Skewed latencies: exact percentiles vs the sketch, per group.
SELECT setseed(0.7) \gset
CREATE TEMP TABLE lat AS
SELECT (i % 20) AS g, (exp(random() * 9) + random() * 3)::float8 AS x
  FROM generate_series(1, 40000) i;
INSERT INTO lat SELECT 99, 0 FROM generate_series(1, 10);   -- zeros
INSERT INTO lat SELECT 99, 1e-12 FROM generate_series(1, 5); -- below the smallest bucket

CREATE TEMP TABLE cmp AS
SELECT g, analytics.latency_sketch_agg(x) AS s,
       percentile_cont(ARRAY[0, 0.5, 0.9, 0.95, 0.99, 1]) WITHIN GROUP (ORDER BY x) AS exact
  FROM lat GROUP BY g;
SELECT cmp_ok((SELECT max(abs(q[i] / e[i] - 1))
                 FROM (SELECT analytics.quantiles(s, ARRAY[0, 0.5, 0.9, 0.95, 0.99, 1]) AS q, exact AS e FROM cmp WHERE g <> 99) c,
                      generate_series(1, 6) i),
              '<=', 0.01::float8, 'every quantile of skewed data is within 1 % of percentile_cont');
SELECT is((SELECT analytics.quantile(s, 0.5) FROM cmp WHERE g = 99), 0::float8, 'zeros count');
SELECT results_eq($$SELECT analytics.sketch_count(s), analytics.sketch_min(s), analytics.sketch_max(s) FROM cmp WHERE g = 0$$,
  $$SELECT count(*), min(x), max(x) FROM lat WHERE g = 0$$, 'count, min and max are exact');
SELECT cmp_ok((SELECT abs(analytics.sketch_sum(s) / (SELECT sum(x) FROM lat WHERE g = 0) - 1) FROM cmp WHERE g = 0),
  '<', 1e-9::float8, 'sum is exact up to float rounding');

-- Merging: the union of parts is the sketch of the whole.
SELECT is((SELECT split_part(analytics.latency_sketch_merge(s)::text, ';b=', 2) FROM cmp),
          (SELECT split_part(analytics.latency_sketch_agg(x)::text, ';b=', 2) FROM lat),
  'merge aggregate = sketch of all values');
SELECT is((SELECT analytics.sketch_count(analytics.latency_sketch_union(a.s, b.s)) FROM cmp a, cmp b WHERE a.g = 1 AND b.g = 2),
  (SELECT count(*) FROM lat WHERE g IN (1, 2)), 'union of two sketches');
SELECT is(analytics.latency_sketch_union(NULL, NULL)::text, NULL, 'union of nothing is NULL');
SELECT is((SELECT analytics.latency_sketch_union(s, NULL)::text FROM cmp WHERE g = 3),
          (SELECT s::text FROM cmp WHERE g = 3), 'NULL is the empty sketch in a union');
SELECT is((SELECT analytics.latency_sketch_agg(x) FROM lat WHERE false)::text, NULL, 'no input: NULL');
SELECT is((SELECT analytics.latency_sketch_agg(NULL::float8))::text, NULL, 'only NULLs: NULL');

-- A forced parallel plan gives the same answer.
CREATE TABLE par AS SELECT * FROM lat;
ANALYZE par;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; o text := '';
BEGIN
  FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP o := o || r || E'\n'; END LOOP;
  RETURN o;
END $$;
SELECT matches(pg_temp.plan_of('SELECT analytics.latency_sketch_agg(x) FROM par'), 'Partial Aggregate',
  'latency_sketch_agg runs in parallel');
SELECT is((SELECT analytics.quantiles(analytics.latency_sketch_agg(x), '{0.5,0.99}') FROM par),
          (SELECT analytics.quantiles(s, '{0.5,0.99}') FROM (SELECT analytics.latency_sketch_merge(s) s FROM cmp) m),
  'the parallel aggregate answers like the serial one');
SELECT matches(pg_temp.plan_of('SELECT analytics.latency_sketch_merge(s) FROM (SELECT analytics.latency_sketch_agg(x) s FROM par GROUP BY g) t'),
  'Aggregate', 'the merge aggregate plans');
RESET max_parallel_workers_per_gather;

-- Text and binary round trips.
SELECT is((SELECT analytics.latency_sketch_in(analytics.latency_sketch_out(s))::text FROM cmp WHERE g = 5),
          (SELECT s::text FROM cmp WHERE g = 5), 'text round trip');
SELECT is((SELECT analytics.latency_sketch_from_bytea(analytics.latency_sketch_to_bytea(s))::text FROM cmp WHERE g = 5),
          (SELECT s::text FROM cmp WHERE g = 5), 'binary round trip');

-- Bounded size, whatever the input: values spread over 300 orders of magnitude.
SELECT cmp_ok((SELECT length(analytics.latency_sketch_to_bytea(analytics.latency_sketch_agg(power(10, (i % 600) / 2.0 - 9))))
                 FROM generate_series(1, 20000) i), '<=', 44 + 2048 * 12,
  'at most 2048 buckets');
SELECT cmp_ok((SELECT abs(analytics.quantile(analytics.latency_sketch_agg(v), 0.99)
                         / percentile_cont(0.99) WITHIN GROUP (ORDER BY v) - 1)
                 FROM (SELECT power(10, (i % 600) / 2.0 - 9)::float8 AS v FROM generate_series(1, 20000) i) x),
              '<=', 0.01::float8, 'upper quantiles keep their guarantee after collapsing');

-- Bad input: clean errors with specific SQLSTATEs.
SELECT throws_ok($$SELECT analytics.quantile(analytics.latency_sketch_agg(1), 1.5)$$, '22003', 'quantile 1.5 is not between 0 and 1', 'q above 1');
SELECT throws_ok($$SELECT analytics.quantiles(analytics.latency_sketch_agg(1), '{0.5,-0.1}')$$, '22003', NULL, 'q below 0 in an array');
SELECT throws_ok($$SELECT analytics.latency_sketch_agg(-1)$$, '22003', NULL, 'negative values');
SELECT throws_ok($$SELECT analytics.quantiles(analytics.latency_sketch_agg(1), '{{0.5},{0.9}}')$$, '2202E', NULL, 'a two-dimensional array of quantiles');
SELECT throws_ok($$SELECT analytics.latency_sketch_agg('NaN')$$, '22003', NULL, 'NaN values');
SELECT throws_ok($$SELECT 'v1;n=2;z=0;sum=1;min=1;max=1;b=0:1'::analytics.latency_sketch$$, '22P02', 'invalid latency_sketch', 'counts that do not add up');
SELECT throws_ok($$SELECT 'v2;n=0;z=0;sum=0;min=0;max=0;b='::analytics.latency_sketch$$, '22P02', NULL, 'unknown version');
SELECT throws_ok($$SELECT 'v1;n=2;z=0;sum=1;min=1;max=1;b=5:1,3:1'::analytics.latency_sketch$$, '22P02', NULL, 'unsorted buckets');
SELECT throws_ok($$SELECT analytics.latency_sketch_from_bytea('\x0100')$$, '22P03', 'invalid latency_sketch', 'truncated binary');
SELECT throws_ok($$SELECT analytics.latency_sketch_from_bytea(analytics.latency_sketch_to_bytea('v1;n=1;z=0;sum=1;min=1;max=1;b=0:1') || '\x00'::bytea)$$,
  '22P03', NULL, 'trailing bytes');

-- Overflow: counts and sums past their type are 22003 on every path, never a wrap.
CREATE TEMP TABLE huge (k int, s analytics.latency_sketch);
INSERT INTO huge VALUES
  (1, 'v1;n=9223372036854775807;z=0;sum=1;min=1;max=1;b=0:9223372036854775807'),
  (2, 'v1;n=5000000000000000000;z=0;sum=1;min=1;max=1;b=0:5000000000000000000'),
  (3, 'v1;n=100000000;z=0;sum=1e308;min=1e300;max=1e300;b=36356:100000000');
SELECT is((SELECT analytics.sketch_count(s) FROM huge WHERE k = 1), 9223372036854775807::bigint,
  'the largest count is accepted');
SELECT throws_ok($$SELECT analytics.sketch_count(analytics.latency_sketch_union(s, s)) FROM huge WHERE k = 1$$,
  '22003', 'latency_sketch count out of range', 'union: a count past bigint is an error');
SELECT throws_ok($$SELECT analytics.latency_sketch_union(s, s) FROM huge WHERE k = 3$$,
  '22003', 'latency_sketch sum out of range', 'union: a sum past double precision is an error');
SELECT throws_ok($$SELECT analytics.latency_sketch_merge(h.s) FROM huge h, generate_series(1, 2) WHERE h.k = 2$$,
  '22003', 'latency_sketch count out of range', 'merge aggregate: count');
SELECT throws_ok($$SELECT analytics.latency_sketch_merge(h.s) FROM huge h, generate_series(1, 2) WHERE h.k = 3$$,
  '22003', 'latency_sketch sum out of range', 'merge aggregate: sum');
SELECT throws_ok($$SELECT analytics.latency_sketch_agg(x) FROM (VALUES (1e300::float8), ('1e308'::float8)) v(x)$$,
  '22003', NULL, 'a value above the largest is an error (the float aggregate cannot reach the sum limit otherwise)');
-- Combine: partial aggregates per partition, combined by the finalize step.
CREATE TABLE parts (k int, s analytics.latency_sketch) PARTITION BY LIST (k);
CREATE TABLE parts1 PARTITION OF parts FOR VALUES IN (1);
CREATE TABLE parts2 PARTITION OF parts FOR VALUES IN (2);
INSERT INTO parts SELECT g, s FROM huge, generate_series(1, 2) g WHERE huge.k = 2;
SET LOCAL enable_partitionwise_aggregate = on;
SELECT matches(pg_temp.plan_of('SELECT analytics.latency_sketch_merge(s) FROM parts'), 'Finalize Aggregate',
  'the merge aggregate combines partial states per partition');
SELECT throws_ok($$SELECT analytics.latency_sketch_merge(s) FROM parts$$,
  '22003', 'latency_sketch count out of range', 'combine: count');
UPDATE parts SET s = (SELECT s FROM huge WHERE k = 3);
SELECT throws_ok($$SELECT analytics.latency_sketch_merge(s) FROM parts$$,
  '22003', 'latency_sketch sum out of range', 'combine: sum');
RESET enable_partitionwise_aggregate;
-- Parallel: partial states serialized by the workers, deserialized and combined by the leader.
CREATE TABLE hugepar AS SELECT h.s FROM huge h, generate_series(1, 2) WHERE h.k = 2
  UNION ALL SELECT analytics.latency_sketch_agg(g) FROM generate_series(1, 20000) g GROUP BY g;
ANALYZE hugepar;
SELECT matches(pg_temp.plan_of('SELECT analytics.latency_sketch_merge(s) FROM hugepar'), 'Partial Aggregate',
  'the merge aggregate runs in parallel');
SELECT throws_ok($$SELECT analytics.latency_sketch_merge(s) FROM hugepar$$,
  '22003', 'latency_sketch count out of range', 'parallel merge: count');
-- Input: numbers past their type are 22003, like bigint's and double precision's own input.
SELECT throws_ok($$SELECT 'v1;n=9223372036854775808;z=0;sum=1;min=1;max=1;b=0:1'::analytics.latency_sketch$$,
  '22003', NULL, 'text input: count past bigint');
SELECT throws_ok($$SELECT 'v1;n=1;z=0;sum=1;min=1;max=1;b=0:99999999999999999999'::analytics.latency_sketch$$,
  '22003', NULL, 'text input: bucket count past bigint');
SELECT throws_ok($$SELECT 'v1;n=1;z=0;sum=1e309;min=1;max=1;b=0:1'::analytics.latency_sketch$$,
  '22003', NULL, 'text input: sum past double precision');
SELECT is((SELECT analytics.sketch_count(analytics.latency_sketch_from_bytea(analytics.latency_sketch_to_bytea(s))) FROM huge WHERE k = 1),
  9223372036854775807::bigint, 'binary input: the largest count round trips');
SELECT throws_ok($$SELECT analytics.latency_sketch_union(analytics.latency_sketch_from_bytea(analytics.latency_sketch_to_bytea(s)), s) FROM huge WHERE k = 1$$,
  '22003', 'latency_sketch count out of range', 'binary input, then union: an error');

SELECT * FROM finish();
ROLLBACK;
