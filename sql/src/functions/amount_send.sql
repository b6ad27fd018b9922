CREATE OR REPLACE FUNCTION analytics.amount_send(analytics.amount) RETURNS bytea
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'numeric_send';
COMMENT ON FUNCTION analytics.amount_send(analytics.amount) IS 'Binary output of amount (numeric''s)';
REVOKE ALL ON FUNCTION analytics.amount_send(analytics.amount) FROM PUBLIC;
