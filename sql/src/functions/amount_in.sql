CREATE OR REPLACE FUNCTION analytics.amount_in(cstring, oid, integer) RETURNS analytics.amount
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'numeric_in';
COMMENT ON FUNCTION analytics.amount_in(cstring, oid, integer) IS 'Text input of amount (numeric''s)';
REVOKE ALL ON FUNCTION analytics.amount_in(cstring, oid, integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.amount_in(cstring, oid, integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
