-- Impressions per widget and UTC day, read-your-writes: the organizations
-- whose totals the caller reads, filtered here as api_daily_usage does.
CREATE OR REPLACE VIEW analytics.widget_daily_usage WITH (security_barrier = true) AS
SELECT x.org_id, x.widget_id, x.usage_date AS date, sum(x.requests)::bigint AS requests,
       sum(x.billable_units)::bigint AS impressions, max(x.last_seen) AS last_seen
  FROM (SELECT r.org_id, r.widget_id, r.usage_date, r.requests, r.billable_units, r.last_seen
          FROM analytics.rollup_widget_daily r
         WHERE (SELECT analytics.sees_all_rows())
            OR r.org_id = ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
            OR r.org_id = ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}'))
        UNION ALL
        SELECT e.org_id, e.widget_id, (e.occurred_at AT TIME ZONE 'UTC')::date, count(*), sum(e.billable_units),
               max(e.occurred_at)
          FROM analytics.api_requests e
         WHERE e.recorded_xid >= analytics.fold_watermark() AND e.widget_id IS NOT NULL
           AND ((SELECT analytics.sees_all_rows())
                OR e.org_id = ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
                OR e.org_id = ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}')))
         GROUP BY e.org_id, e.widget_id, (e.occurred_at AT TIME ZONE 'UTC')::date) x
 GROUP BY x.org_id, x.widget_id, x.usage_date;
COMMENT ON VIEW analytics.widget_daily_usage IS
  'Requests and impressions (billable units) per widget and UTC day; rollups plus the unfolded tail (read-your-writes)';
REVOKE ALL ON analytics.widget_daily_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.widget_daily_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
