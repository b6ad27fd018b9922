-- The batch (C, src/record_batch.c): every element checked first, then per
-- chunk one key claim, one COPY-style insert, one upsert per counter row and
-- one threshold check per subject.  JSON numbers with a fraction are
-- latencies too (rounded).
CREATE OR REPLACE FUNCTION analytics.record_chat_events(events jsonb) RETURNS SETOF bigint
  LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'ua_record_chat_events';
COMMENT ON FUNCTION analytics.record_chat_events(jsonb) IS
  'Records a JSON array of events (keys = record_chat_event argument names) in one transaction; returns their ids in order';
REVOKE ALL ON FUNCTION analytics.record_chat_events(jsonb) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'FUNCTION', 'analytics.record_chat_events(jsonb)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
