/*
 * The external biller acknowledges what it delivered: the rows become
 * delivered and are never claimed again.  Acknowledging again, or a row
 * whose lease ended (another consumer may hold it now: the provider saw
 * the same idempotency key twice), changes nothing more; an unknown id is
 * ignored.  Returns how many rows became delivered.
 */
CREATE OR REPLACE FUNCTION analytics.ack_billing_outbox(ids bigint[]) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n integer;
BEGIN
  IF ids IS NULL THEN
    RAISE EXCEPTION 'ids must not be NULL' USING ERRCODE = '23502';
  END IF;
  UPDATE analytics.billing_outbox SET delivered_at = clock_timestamp(), leased_until = NULL
   WHERE outbox_id = ANY (ids) AND delivered_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.ack_billing_outbox(bigint[]) IS
  'Marks billing_outbox rows delivered (never claimed again); returns how many became delivered';
REVOKE ALL ON FUNCTION analytics.ack_billing_outbox(bigint[]) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.ack_billing_outbox(bigint[])', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.ack_billing_outbox(bigint[])', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
