CREATE OR REPLACE FUNCTION analytics.record_chat_event_keys() RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  BEGIN ATOMIC
    SELECT pg_catalog.array_agg(a.n ORDER BY a.i)
      FROM pg_catalog.unnest(
             (SELECT p.proargnames FROM pg_catalog.pg_proc p
               WHERE p.oid = 'analytics.record_chat_event(text, text, text, bigint, bigint, bigint, bigint, bigint, analytics.amount, double precision, double precision, text, text, text, text, timestamptz, text, text, text, text, text, text, text, text, boolean, text[], bigint, jsonb, text, bigint, bigint, text, inet, text)'::pg_catalog.regprocedure))
           WITH ORDINALITY AS a(n, i);
  END;
COMMENT ON FUNCTION analytics.record_chat_event_keys() IS
  'Argument names of record_chat_event, accepted as keys by record_chat_events';
REVOKE ALL ON FUNCTION analytics.record_chat_event_keys() FROM PUBLIC;
