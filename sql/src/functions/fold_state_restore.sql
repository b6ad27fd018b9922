CREATE OR REPLACE FUNCTION analytics.fold_state_restore() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  UPDATE analytics.fold_state f
     SET watermark = NEW.watermark, folded_at = NEW.folded_at, events_folded = NEW.events_folded,
         retained_from = NEW.retained_from, payloads_cleared_before = NEW.payloads_cleared_before,
         system_identifier = analytics.system_identifier(),
         needs_repair = NEW.needs_repair OR NEW.system_identifier <> analytics.system_identifier();
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION analytics.fold_state_restore() IS
  'Trigger: a restored fold_state row replaces the installed one (internal)';
REVOKE ALL ON FUNCTION analytics.fold_state_restore() FROM PUBLIC;
