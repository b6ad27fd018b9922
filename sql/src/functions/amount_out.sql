CREATE OR REPLACE FUNCTION analytics.amount_out(analytics.amount) RETURNS cstring
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'numeric_out';
COMMENT ON FUNCTION analytics.amount_out(analytics.amount) IS 'Text output of amount (numeric''s)';
REVOKE ALL ON FUNCTION analytics.amount_out(analytics.amount) FROM PUBLIC;
