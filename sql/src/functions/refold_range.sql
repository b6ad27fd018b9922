-- Deletes the rollups of a date range and refolds the events below hi into
-- them.  The caller holds the fold_state row lock.  Internal.
CREATE OR REPLACE FUNCTION analytics.refold_range(from_date date, to_date date, hi bigint)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  DELETE FROM analytics.rollup_user_daily r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_user_monthly r WHERE r.month BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_org_daily r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_user_models r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_user_categories r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_documents r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_system_models r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_distinct r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_user_labels r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_system_labels r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_conversations r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_document_sections r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_api_daily r WHERE r.usage_date BETWEEN from_date AND to_date;
  DELETE FROM analytics.rollup_widget_daily r WHERE r.usage_date BETWEEN from_date AND to_date;
  INSERT INTO analytics.summary_changes DEFAULT VALUES;   -- the next refresh rebuilds every summary row
  -- From the lowest recorded_xid: on a Citus cluster folded events and API
  -- requests are marked by a negative one (fold()); on a single node none
  -- is below 0.
  PERFORM analytics.fold_api_requests(-9223372036854775808, hi, from_date, to_date);
  RETURN analytics.fold_range(-9223372036854775808, hi, from_date, to_date);
END
$$;
COMMENT ON FUNCTION analytics.refold_range(date, date, bigint) IS
  'Recomputes the rollups of a date range from the events recorded below a transaction id (internal)';
REVOKE ALL ON FUNCTION analytics.refold_range(date, date, bigint) FROM PUBLIC;
