CREATE OR REPLACE VIEW analytics.users_by_plan WITH (security_invoker = true) AS
SELECT p.plan_id, p.name AS plan_name,
       p.plan_id = analytics.setting('default_plan') AS is_default_plan,
       COALESCE(n.user_count, 0)::bigint AS user_count,
       COALESCE(n.subscribed_users, 0)::bigint AS subscribed_users,
       COALESCE(n.default_plan_users, 0)::bigint AS default_plan_users
  FROM analytics.plans p
  LEFT JOIN (SELECT s.plan_id, count(*) AS user_count,
                    count(*) FILTER (WHERE s.subscribed) AS subscribed_users,
                    count(*) FILTER (WHERE NOT s.subscribed) AS default_plan_users
               FROM (SELECT u.user_id, a.plan_id,
                            EXISTS (SELECT 1 FROM analytics.subscriptions x
                                     WHERE x.user_id = u.user_id AND x.starts_at <= pg_catalog.now()
                                       AND (x.ends_at IS NULL OR x.ends_at > pg_catalog.now())) AS subscribed
                       FROM (SELECT c.user_id FROM analytics.usage_counters c
                             UNION
                             SELECT x.user_id FROM analytics.subscriptions x) u
                      CROSS JOIN LATERAL analytics.subject_at(u.user_id, pg_catalog.now()) a) s
              GROUP BY s.plan_id) n ON n.plan_id = p.plan_id;
COMMENT ON VIEW analytics.users_by_plan IS
  'Users per plan in force now (seed 004), those on the default plan without a subscription included';
REVOKE ALL ON analytics.users_by_plan FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('app_backend', 'TABLE', 'analytics.users_by_plan', 'SELECT'),
  ('admin', 'TABLE', 'analytics.users_by_plan', 'SELECT')
  ON CONFLICT DO NOTHING;
