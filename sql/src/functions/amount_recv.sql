CREATE OR REPLACE FUNCTION analytics.amount_recv(internal, oid, integer) RETURNS analytics.amount
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'numeric_recv';
COMMENT ON FUNCTION analytics.amount_recv(internal, oid, integer) IS 'Binary input of amount (numeric''s)';
REVOKE ALL ON FUNCTION analytics.amount_recv(internal, oid, integer) FROM PUBLIC;
