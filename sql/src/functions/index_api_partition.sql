CREATE OR REPLACE FUNCTION analytics.index_api_partition(part regclass) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (org_id, occurred_at, id)', part);
  -- The fold reads new requests by transaction id; read-your-writes reads
  -- an organization's not yet folded requests.
  EXECUTE format('CREATE INDEX ON %s USING brin (recorded_xid)', part);
  EXECUTE format('CREATE INDEX ON %s (org_id, recorded_xid)', part);
  EXECUTE format('CREATE TRIGGER api_requests_no_truncate BEFORE TRUNCATE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION analytics.guard_append_only(%L)',
                 part, 'analytics.api_requests');
  EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER api_requests_no_truncate', part);
END
$$;
COMMENT ON FUNCTION analytics.index_api_partition(regclass) IS
  'Creates the primary key, indexes and TRUNCATE guard of a partition of api_requests (internal)';
REVOKE ALL ON FUNCTION analytics.index_api_partition(regclass) FROM PUBLIC;
