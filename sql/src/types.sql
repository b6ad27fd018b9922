/*-------------------------------------------------------------------------
 * types.sql
 *    The extension's types: latency_sketch (a mergeable quantile sketch, C)
 *    with its aggregates and accessors, and amount (money as a function
 *    argument).
 *-------------------------------------------------------------------------
 */

/* ------------------------------------------------------------------------
 * latency_sketch: mergeable quantile sketch, relative error <= 1 % (C)
 * ------------------------------------------------------------------------ */

CREATE TYPE analytics.latency_sketch;
\ir functions/latency_sketch_in.sql
\ir functions/latency_sketch_out.sql
\ir functions/latency_sketch_recv.sql
\ir functions/latency_sketch_send.sql
CREATE TYPE analytics.latency_sketch (
  INPUT = analytics.latency_sketch_in,
  OUTPUT = analytics.latency_sketch_out,
  RECEIVE = analytics.latency_sketch_recv,
  SEND = analytics.latency_sketch_send,
  INTERNALLENGTH = VARIABLE,
  ALIGNMENT = double,
  STORAGE = extended
);
COMMENT ON TYPE analytics.latency_sketch IS
  'Mergeable quantile sketch (logarithmic buckets, relative error <= 1 %, at most 2048 buckets)';

\ir functions/latency_sketch_from_bytea.sql
\ir functions/latency_sketch_to_bytea.sql

\ir functions/latency_sketch_add_trans.sql
\ir functions/latency_sketch_merge_trans.sql
\ir functions/latency_sketch_combine.sql
\ir functions/latency_sketch_serialize.sql
\ir functions/latency_sketch_deserialize.sql
\ir functions/latency_sketch_final.sql

CREATE AGGREGATE analytics.latency_sketch_agg(double precision) (
  SFUNC = analytics.latency_sketch_add_trans,
  STYPE = internal,
  FINALFUNC = analytics.latency_sketch_final,
  COMBINEFUNC = analytics.latency_sketch_combine,
  SERIALFUNC = analytics.latency_sketch_serialize,
  DESERIALFUNC = analytics.latency_sketch_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE analytics.latency_sketch_agg(double precision) IS
  'The latency_sketch of a set of values (>= 0; NULLs are skipped)';
CREATE AGGREGATE analytics.latency_sketch_merge(analytics.latency_sketch) (
  SFUNC = analytics.latency_sketch_merge_trans,
  STYPE = internal,
  FINALFUNC = analytics.latency_sketch_final,
  COMBINEFUNC = analytics.latency_sketch_combine,
  SERIALFUNC = analytics.latency_sketch_serialize,
  DESERIALFUNC = analytics.latency_sketch_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE analytics.latency_sketch_merge(analytics.latency_sketch) IS
  'The union of a set of latency_sketch values';

\ir functions/latency_sketch_union.sql
\ir functions/quantile.sql
\ir functions/quantiles.sql
\ir functions/sketch_count.sql
\ir functions/sketch_sum.sql
\ir functions/sketch_min.sql
\ir functions/sketch_max.sql
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.latency_sketch_agg(double precision)', 'EXECUTE'),
  ('*', 'FUNCTION', 'analytics.latency_sketch_merge(analytics.latency_sketch)', 'EXECUTE')
  ON CONFLICT DO NOTHING;

/* ------------------------------------------------------------------------
 * amount: money as a function argument
 * ------------------------------------------------------------------------ */

/*
 * Drivers send what their language has: psycopg a Python float as double
 * precision, node-pg every value as an untyped string, PostgREST each JSON
 * value through json_to_recordset typed as the argument.  bigint latencies
 * and a numeric cost accepted neither double precision (42883) nor '812.7'
 * (22P02).  Latencies are double precision now (rounded to whole
 * milliseconds by the C code).  Costs are analytics.amount: a numeric
 * (same representation and input) that numeric converts to for free and
 * integers and double precision convert to implicitly, through their text
 * form (so 0.0123::float8 is 0.0123); untyped and JSON values are read as
 * numeric text, exactly.  The C functions still accept the 1.0
 * declarations.
 */
CREATE TYPE analytics.amount;
\ir functions/amount_in.sql
\ir functions/amount_out.sql
\ir functions/amount_recv.sql
\ir functions/amount_send.sql
CREATE TYPE analytics.amount (
  INPUT = analytics.amount_in, OUTPUT = analytics.amount_out,
  RECEIVE = analytics.amount_recv, SEND = analytics.amount_send,
  LIKE = pg_catalog.numeric, CATEGORY = 'N');
COMMENT ON TYPE analytics.amount IS
  'An amount of money in USD as a function argument: numeric, taken implicitly from numeric, integers, double precision (its text form) and untyped or JSON text';
CREATE CAST (numeric AS analytics.amount) WITHOUT FUNCTION AS IMPLICIT;
CREATE CAST (smallint AS analytics.amount) WITH INOUT AS IMPLICIT;
CREATE CAST (integer AS analytics.amount) WITH INOUT AS IMPLICIT;
CREATE CAST (bigint AS analytics.amount) WITH INOUT AS IMPLICIT;
CREATE CAST (real AS analytics.amount) WITH INOUT AS IMPLICIT;
CREATE CAST (double precision AS analytics.amount) WITH INOUT AS IMPLICIT;
