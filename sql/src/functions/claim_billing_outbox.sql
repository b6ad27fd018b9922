/*
 * The external biller's claim: up to batch_size undelivered rows whose
 * lease is free (never claimed, or the lease of an earlier claim ended:
 * a consumer that crashed or timed out), oldest first, each leased to the
 * caller for lease (clock time, so a long transaction does not shorten
 * it).  FOR UPDATE SKIP LOCKED: consumers claiming at once never wait for
 * each other and never get the same row while a lease holds.  Delivery is
 * at least once: a row claimed and not acknowledged before its lease ends
 * is handed out again; the consumer deduplicates on idempotency_key.
 */
CREATE OR REPLACE FUNCTION analytics.claim_billing_outbox(batch_size integer DEFAULT 100,
    lease interval DEFAULT '5 minutes', consumer text DEFAULT NULL)
  RETURNS SETOF analytics.billing_outbox
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF batch_size IS NULL OR lease IS NULL THEN
    RAISE EXCEPTION 'batch_size and lease must not be NULL' USING ERRCODE = '23502';
  END IF;
  IF batch_size < 1 OR batch_size > 10000 THEN
    RAISE EXCEPTION 'batch_size must be between 1 and 10000' USING ERRCODE = '22023';
  END IF;
  IF lease < interval '1 millisecond' OR lease > interval '1 day' THEN
    RAISE EXCEPTION 'lease must be between 1 millisecond and 1 day' USING ERRCODE = '22023';
  END IF;
  IF octet_length(consumer) > 256 THEN
    RAISE EXCEPTION 'consumer longer than 256 bytes' USING ERRCODE = '22001';
  END IF;
  RETURN QUERY
  UPDATE analytics.billing_outbox o
     SET leased_until = clock_timestamp() + lease, claimed_by = consumer,
         claims = o.claims + 1
   WHERE o.outbox_id IN (SELECT c.outbox_id FROM analytics.billing_outbox c
                          WHERE c.delivered_at IS NULL
                            AND (c.leased_until IS NULL OR c.leased_until <= clock_timestamp())
                          ORDER BY c.outbox_id
                          LIMIT batch_size
                            FOR UPDATE SKIP LOCKED)
  RETURNING o.*;
END
$$;
COMMENT ON FUNCTION analytics.claim_billing_outbox(integer, interval, text) IS
  'Claims up to batch_size undelivered billing_outbox rows whose lease is free, oldest first, leased to the caller for lease (FOR UPDATE SKIP LOCKED); rows not acknowledged before the lease ends are handed out again (at least once)';
REVOKE ALL ON FUNCTION analytics.claim_billing_outbox(integer, interval, text) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.claim_billing_outbox(integer, interval, text)', 'EXECUTE', true),
  ('app_backend', 'FUNCTION', 'analytics.claim_billing_outbox(integer, interval, text)', 'EXECUTE', false)
  ON CONFLICT DO NOTHING;
