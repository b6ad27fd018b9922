-- Fuzzing of latency_sketch inputs: random mutations of valid text and
-- binary forms.  Every case must end in the value or a clean ERROR; a
-- crash ends the run.  Run:  psql -X -v cases=100000 -f test/fuzz/sketch_fuzz.sql
-- in a database with the extension.
\set ON_ERROR_STOP on
SELECT setseed(0.77);
CREATE TEMP TABLE seeds AS
SELECT analytics.latency_sketch_agg(x)::text AS t,
       analytics.latency_sketch_to_bytea(analytics.latency_sketch_agg(x)) AS b
  FROM (SELECT g, (exp(random() * 8))::float8 AS x FROM generate_series(1, 2000) i, generate_series(1, 5) g
         WHERE random() < 0.5 OR g = 1) s
 GROUP BY g;
DO $$
DECLARE
  n integer := coalesce(current_setting('fuzz.cases', true), '100000')::integer;
  ok integer := 0;
  bad integer := 0;
  t text;
  b bytea;
  pos integer;
  s analytics.latency_sketch;
BEGIN
  FOR i IN 1..n LOOP
    SELECT seeds.t, seeds.b INTO t, b FROM seeds ORDER BY random() LIMIT 1;
    BEGIN
      IF i % 2 = 0 THEN
        -- text: replace, delete or insert a character, or cut
        pos := 1 + floor(random() * length(t))::int;
        t := CASE floor(random() * 4)::int
               WHEN 0 THEN overlay(t PLACING chr(32 + floor(random() * 95)::int) FROM pos FOR 1)
               WHEN 1 THEN overlay(t PLACING '' FROM pos FOR 1)
               WHEN 2 THEN overlay(t PLACING (floor(random() * 10))::text FROM pos FOR 0)
               ELSE left(t, pos) END;
        s := t::analytics.latency_sketch;
      ELSE
        -- binary: flip a byte, cut, or append
        pos := floor(random() * length(b))::int;
        b := CASE floor(random() * 3)::int
               WHEN 0 THEN set_byte(b, pos, floor(random() * 256)::int)
               WHEN 1 THEN substring(b FROM 1 FOR pos)
               ELSE b || '\x00'::bytea END;
        s := analytics.latency_sketch_from_bytea(b);
      END IF;
      -- whatever was accepted must work
      PERFORM analytics.quantiles(s, '{0,0.5,0.99,1}'), analytics.latency_sketch_union(s, s)::text;
      ok := ok + 1;
    EXCEPTION WHEN invalid_text_representation OR invalid_binary_representation
                OR numeric_value_out_of_range THEN
      bad := bad + 1;
    END;
  END LOOP;
  RAISE NOTICE 'fuzz: % cases, % accepted, % rejected with a clean error', n, ok, bad;
END
$$;
