-- The body of a history load (C, src/import_rows.c): the rows of a cursor
-- that import_chat_events opened over the caller's table, batch_size at a
-- time, checked and recorded as record_chat_events records a chunk; the
-- counter sums and thresholds wait in memory up to maintenance_work_mem.
-- Not SECURITY DEFINER: the cursor is fetched and its values converted
-- with the caller's rights, then checked and recorded with the owner's
-- (ua_become_function_owner).
CREATE OR REPLACE FUNCTION analytics.import_rows(source_rows refcursor, batch_size integer) RETURNS bigint
  LANGUAGE C VOLATILE CALLED ON NULL INPUT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_import_rows';
COMMENT ON FUNCTION analytics.import_rows(refcursor, integer) IS
  'The rows of an open cursor (columns named after record_chat_events keys) recorded through the batch path, an error naming the source rows; returns how many it took (internal to import_chat_events)';
REVOKE ALL ON FUNCTION analytics.import_rows(refcursor, integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.import_rows(refcursor, integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
