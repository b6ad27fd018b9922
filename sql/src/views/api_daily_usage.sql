-- Read-your-writes: the rollups plus the requests not yet folded (index on
-- org_id, recorded_xid), of the organizations whose totals the caller
-- reads: app backends and all-rows admins every one, organization-scoped
-- admin roles theirs, identities those they belong to in any role (owners,
-- admins, members and viewers read the totals; only owners and admins read
-- the requests themselves).  The view reads both as its owner and filters
-- them itself (security_barrier: the caller's predicates run after), so a
-- member's totals include the other members' requests without showing one.
CREATE OR REPLACE VIEW analytics.api_daily_usage WITH (security_barrier = true) AS
SELECT x.org_id, x.usage_date AS date, x.api_key_id, x.endpoint,
       sum(x.requests)::bigint AS requests, sum(x.status_1xx)::bigint AS status_1xx,
       sum(x.status_2xx)::bigint AS status_2xx, sum(x.status_3xx)::bigint AS status_3xx,
       sum(x.status_4xx)::bigint AS status_4xx, sum(x.status_5xx)::bigint AS status_5xx,
       sum(x.cached)::bigint AS cached, sum(x.billable_units)::bigint AS billable_units,
       analytics.latency_sketch_merge(x.latency) AS latency, max(x.last_seen) AS last_seen
  FROM (SELECT r.org_id, r.usage_date, r.api_key_id, r.endpoint, r.requests, r.status_1xx, r.status_2xx,
               r.status_3xx, r.status_4xx, r.status_5xx, r.cached, r.billable_units, r.latency, r.last_seen
          FROM analytics.rollup_api_daily r
         WHERE (SELECT analytics.sees_all_rows())
            OR r.org_id = ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
            OR r.org_id = ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}'))
        UNION ALL
        SELECT e.org_id, (e.occurred_at AT TIME ZONE 'UTC')::date, COALESCE(e.api_key_id, 0), e.endpoint, count(*),
               count(*) FILTER (WHERE e.status_code < 200),
               count(*) FILTER (WHERE e.status_code BETWEEN 200 AND 299),
               count(*) FILTER (WHERE e.status_code BETWEEN 300 AND 399),
               count(*) FILTER (WHERE e.status_code BETWEEN 400 AND 499),
               count(*) FILTER (WHERE e.status_code >= 500), count(*) FILTER (WHERE e.cached),
               sum(e.billable_units), analytics.latency_sketch_agg(e.response_time_ms), max(e.occurred_at)
          FROM analytics.api_requests e
         WHERE e.recorded_xid >= analytics.fold_watermark()
           AND ((SELECT analytics.sees_all_rows())
                OR e.org_id = ANY (COALESCE((SELECT analytics.admin_org_ids()), '{}'))
                OR e.org_id = ANY (COALESCE((SELECT analytics.identity_org_ids()), '{}')))
         GROUP BY e.org_id, (e.occurred_at AT TIME ZONE 'UTC')::date, COALESCE(e.api_key_id, 0), e.endpoint) x
 GROUP BY x.org_id, x.usage_date, x.api_key_id, x.endpoint;
COMMENT ON VIEW analytics.api_daily_usage IS
  'API requests per organization, UTC day, API key (0: none) and endpoint: requests by status class, cached, billable units, latency sketch, last request; rollups plus the unfolded tail (read-your-writes); every member of an organization reads its totals';
REVOKE ALL ON analytics.api_daily_usage FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'TABLE', 'analytics.api_daily_usage', 'SELECT')
  ON CONFLICT DO NOTHING;
