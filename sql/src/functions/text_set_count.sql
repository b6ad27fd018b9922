\ir text_set_count_add.sql
\ir text_set_count_final.sql
CREATE AGGREGATE analytics.text_set_count(text[]) (
  SFUNC = analytics.text_set_count_add,
  STYPE = internal,
  FINALFUNC = analytics.text_set_count_final
);
COMMENT ON AGGREGATE analytics.text_set_count(text[]) IS
  'Number of distinct non-NULL strings in a group''s arrays (the size of their union), counted in one hash set: distinct counts over many days'' sets without unnesting them';
REVOKE ALL ON FUNCTION analytics.text_set_count(text[]) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.text_set_count(text[])', 'EXECUTE')
  ON CONFLICT DO NOTHING;
