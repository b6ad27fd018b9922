-- Timing helpers and the results table of the benchmark.
CREATE SCHEMA bench;
CREATE FUNCTION bench.best_ms(q text, runs integer) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  best float8 := 'infinity';
BEGIN
  FOR i IN 1..runs LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
  RETURN best;
END
$$;
-- Mean time of one call of q (with $1 = each of users), over several rounds.
CREATE FUNCTION bench.mean_ms(q text, users text[], rounds integer) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  u text;
  n integer := 0;
BEGIN
  EXECUTE q USING users[1];   -- warm the plan cache
  t0 := clock_timestamp();
  FOR r IN 1..rounds LOOP
    FOREACH u IN ARRAY users LOOP
      EXECUTE q USING u;
      n := n + 1;
    END LOOP;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
END
$$;
CREATE TABLE bench.results (n serial, section text, metric text, value text, target text);
-- Mean time of one call of expr (over u = each of users), rounds times, in
-- one statement: no per-call planning in the measure.
CREATE FUNCTION bench.per_call_ms(expr text, users text[], rounds integer) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  q text := format('SELECT count(%s) FROM unnest(%L::text[]) u, generate_series(1, %s)', expr, users, rounds);
BEGIN
  EXECUTE q;   -- warm
  RETURN bench.best_ms(q, 3) / (rounds * cardinality(users));
END
$$;
