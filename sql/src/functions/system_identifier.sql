-- The cluster's system identifier: transaction ids mean something only in
-- the cluster that assigned them.
CREATE OR REPLACE FUNCTION analytics.system_identifier() RETURNS bigint
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT c.system_identifier FROM pg_catalog.pg_control_system() c $$;
COMMENT ON FUNCTION analytics.system_identifier() IS
  'The system identifier of this cluster (pg_control_system), which fold_state records';
REVOKE ALL ON FUNCTION analytics.system_identifier() FROM PUBLIC;
