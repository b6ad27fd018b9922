-- The raw log's everyday questions (seed 000) read an index of the month,
-- not the whole partition: one conversation's events, one document's recent
-- events, recent errors.  Partial: events without the id cost nothing.
CREATE OR REPLACE FUNCTION analytics.index_partition_lookups(part regclass) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  EXECUTE format('CREATE INDEX ON %s (conversation_id, occurred_at) WHERE conversation_id IS NOT NULL', part);
  EXECUTE format('CREATE INDEX ON %s (document_id, occurred_at) WHERE document_id IS NOT NULL', part);
  EXECUTE format('CREATE INDEX ON %s (occurred_at) WHERE status = ''failed''', part);
END
$$;
COMMENT ON FUNCTION analytics.index_partition_lookups(regclass) IS
  'Creates the lookup indexes of a partition of chat_events: by conversation, by document, failed events by time (internal)';
REVOKE ALL ON FUNCTION analytics.index_partition_lookups(regclass) FROM PUBLIC;
