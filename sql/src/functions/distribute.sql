/*
 * analytics.distribute(): on a Citus coordinator, turn the installed
 * extension (empty or with data) into a distributed one (SPEC §7, issue 16;
 * README "Scaling out with Citus").  Idempotent: tables that are Citus
 * tables already are left as they are, and a second call converts nothing
 * (call it again after adding a worker: it gives the new node its id range).
 *
 *   - user-keyed tables, by user_id, in chat_events' colocation group:
 *     recording an event, admitting a request and reading one user's
 *     dashboard touch one shard group.  org_usage_counters too: a user's
 *     quota subtracts the member's rows of every organization (by
 *     org_id they were spread over every shard); an organization's
 *     pooled rows (user_id '') share one shard;
 *   - organization-keyed tables, by org_id, in api_requests' group;
 *   - provider_counters, by provider, in a group of its own: a rate
 *     limit's admission lock is taken on the node of its provider's rows
 *     (admission.c), so the lock and the window it guards commit together;
 *   - catalogs, plans, organizations and their members, subscriptions, API
 *     keys (key_prefix is unique across organizations), alert rules, the
 *     system and document rollups: reference tables.
 *   - the billing catalogs (currencies, meters, plan charges and tiers):
 *     reference tables.  Invoices, their lines, numbers, credits and the
 *     billing outbox stay plain tables on the coordinator (their triggers
 *     keep finalized invoices immutable and fill the outbox); their keys to
 *     tables that become Citus tables are dropped (Citus would convert
 *     them, which the extension's views forbid).  Billing on a cluster is
 *     not tested yet.
 *   - access_list and role_bindings stay local to each node (their trigger
 *     grants privileges on the node itself), and so do fold_state and
 *     fold_shard_state (each node's record of its shards' folds): the
 *     rollups are emptied and every node's watermark set to 0 for good.
 *     Transaction ids are per node, so on a cluster fold() marks the events
 *     it folds with a negative recorded_xid instead (fold.sql): the events
 *     already in the log are unfolded tail until the next fold.
 *   - the SQL-language read functions become PL/pgSQL (Citus cannot plan a
 *     SQL function's statement with parameters over its tables).
 *
 * What Citus refuses is changed first: triggers on the converted tables
 * are dropped (the append-only guards: privileges alone keep the logs
 * append-only on a cluster), policies lose their sub-selects (same
 * predicates, evaluated per row), foreign keys are dropped and added back
 * once both sides are Citus tables, event_corrections' key gains user_id.
 * The sequences of every node draw from a range of their own (node group
 * in the high 16 bits, as Citus does for its own): ids are cluster-unique.
 * The per-user write functions are delegated to the worker that holds the
 * user (create_distributed_function).  Every node gets the same identity
 * key (analytics.identity_keys: act_as signs the identity the workers'
 * policies read) and the same role bindings; a second call syncs a new
 * worker, and gives every worker the cluster's read functions again (a
 * worker restored from its own dump lost them).  Workers that lack the
 * extension get it (those added to a coordinator restored from a dump), and
 * the fold marks of another cluster are cleared (README, "Backup and
 * restore on a cluster").
 */
CREATE OR REPLACE FUNCTION analytics.distribute() RETURNS integer
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  by_user CONSTANT text[] := ARRAY['chat_events', 'request_keys', 'usage_counters',
    'notifications', 'event_corrections', 'rollup_user_daily', 'rollup_user_monthly',
    'rollup_user_models', 'rollup_user_labels', 'rollup_user_categories',
    'rollup_conversations', 'org_usage_counters'];
  by_org CONSTANT text[] := ARRAY['api_requests', 'api_key_counters',
    'api_key_rate_limited', 'api_request_keys', 'widgets', 'rollup_api_daily',
    'rollup_widget_daily', 'rollup_org_daily'];
  reference CONSTANT text[] := ARRAY['plans', 'model_prices', 'model_aliases',
    'provider_limits', 'organizations', 'org_members', 'api_keys',
    'subscriptions', 'alert_rules', 'rollup_system_models',
    'rollup_system_labels', 'rollup_documents', 'rollup_document_sections',
    'rollup_distinct', 'currencies', 'meters', 'plan_charges', 'plan_charge_tiers',
    'summary_changes'];
  delegated CONSTANT text[] := ARRAY[
    'analytics.record_chat_event(text,text,text,bigint,bigint,bigint,bigint,bigint,analytics.amount,double precision,double precision,text,text,text,text,timestamp with time zone,text,text,text,text,text,text,text,text,boolean,text[],bigint,jsonb,text,bigint,bigint,text,inet,text)',
    'analytics.start_request(text,text,bigint,text,text,analytics.amount,text,text,text,text,text,text,text,text,jsonb,text,bigint,text,inet,text)',
    'analytics.check_quota(text,bigint)',
    'analytics.check_quota(text,bigint,text,text,text)'];
  -- The per-user read helpers that views and other reads call inside a
  -- query over the shards: on a worker, inside that query, each runs its own
  -- statements on the same user's colocated shards (local execution), which
  -- Citus allows only with citus.allow_nested_distributed_execution.  Set on
  -- these functions alone (and on the SQL-language reads made PL/pgSQL below).
  nested CONSTANT text[] := ARRAY[
    'analytics.user_month_limit(text,date)',
    'analytics.check_quota(text,bigint)',
    'analytics.check_quota(text,bigint,text,text,text)'];
  -- Not complete_request: its user_id defaults to NULL, and Citus 13.2.2
  -- crashes delegating a call whose distribution argument is NULL
  -- (function_call_delegation.c hashes the NULL).  It runs on the
  -- coordinator and finds the event by user and id.
  by_provider CONSTANT text[] := ARRAY['provider_counters'];
  all_tables text[] := by_user || by_org || by_provider || reference;
  t text;
  r record;
  fks text[] := '{}';
  converted integer := 0;
  workers integer;
  seqs text[];
  ddl text;
  failed text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
    RAISE EXCEPTION 'Citus is not installed in this database'
      USING ERRCODE = '0A000',
            HINT = 'Install Citus on every node, run CREATE EXTENSION citus, add the workers, then call analytics.distribute() on the coordinator.';
  END IF;
  IF (SELECT groupid FROM pg_dist_local_group) <> 0 THEN
    RAISE EXCEPTION 'analytics.distribute() must run on the coordinator'
      USING ERRCODE = '55000';
  END IF;
  SELECT count(*) INTO workers FROM pg_dist_node
   WHERE groupid > 0 AND isactive AND noderole = 'primary' AND shouldhaveshards;
  IF workers = 0 THEN
    RAISE EXCEPTION 'the Citus cluster has no active worker'
      USING ERRCODE = '55000',
            HINT = 'Add workers with citus_add_node() first; usage_analytics must be installable on each.';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(delegated) f
              WHERE to_regprocedure(f) IS NULL) THEN
    RAISE EXCEPTION 'a function to delegate is missing: %',
      (SELECT string_agg(f, ', ') FROM unnest(delegated) f WHERE to_regprocedure(f) IS NULL)
      USING ERRCODE = '42883';
  END IF;

  -- Every worker holds the extension: CREATE EXTENSION on the coordinator
  -- installs it on the workers Citus knows of, but not on a worker added to
  -- a coordinator restored from a dump (Citus's object metadata is not in
  -- the dump).  The same version; none when it is there.
  SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
    FROM run_command_on_workers(format(
      'SET LOCAL citus.enable_ddl_propagation TO off; CREATE EXTENSION IF NOT EXISTS usage_analytics VERSION %L',
      (SELECT x.extversion FROM pg_extension x WHERE x.extname = 'usage_analytics'))) w WHERE NOT w.success;
  IF failed IS NOT NULL THEN
    RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
  END IF;

  -- Every node: the same identity key (act_as signs the identity Citus sends
  -- to the workers with it) and the same role bindings (with their
  -- privileges: the policies and functions run there too).  Before the
  -- tables are converted: those separate connections would wait on this
  -- transaction's locks on the workers.
  IF NOT EXISTS (SELECT 1 FROM analytics.identity_keys) THEN
    INSERT INTO analytics.identity_keys (key)
    VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
  END IF;
  SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
    FROM run_command_on_workers(format(
      'INSERT INTO analytics.identity_keys (key) VALUES (%L::bytea) ON CONFLICT (singleton) DO UPDATE SET key = EXCLUDED.key',
      (SELECT k.key FROM analytics.identity_keys k))) w WHERE NOT w.success;
  IF failed IS NOT NULL THEN
    RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
  END IF;
  FOR r IN SELECT b.role_name, b.kind, b.org_id FROM analytics.role_bindings b LOOP
    SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
      FROM run_command_on_workers(format(
             'SET LOCAL citus.enable_ddl_propagation TO off; SELECT analytics.apply_access(%L, %L, %L, true)',
             r.role_name, r.kind, r.org_id)) w WHERE NOT w.success;
    IF failed IS NOT NULL THEN
      RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
    END IF;
  END LOOP;

  -- A second call converts nothing, but gives workers added since their
  -- id ranges.
  IF EXISTS (SELECT 1 FROM unnest(all_tables) u(x)
              WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition p
                                 WHERE p.logicalrelid = format('analytics.%I', u.x)::regclass)) THEN
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    PERFORM set_config('client_min_messages', 'warning', true);

    -- Citus cannot plan a SQL-language function's statement with parameters
    -- over its tables: the read functions become PL/pgSQL, same signature
    -- and body (column names win over parameter names, as in SQL).
    FOR r IN
      SELECT p.oid::regprocedure AS fn, p.proretset, pg_get_functiondef(p.oid) AS def,
             CASE WHEN p.prosrc = '' THEN regexp_replace(pg_get_function_sqlbody(p.oid),
                                          '^\s*BEGIN ATOMIC\s*(.*?);?\s*END\s*$', '\1', 's')
                  ELSE regexp_replace(p.prosrc, ';?\s*$', '') END AS body
        FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
       WHERE l.lanname = 'sql' AND p.pronamespace = 'analytics'::regnamespace
         AND p.prokind = 'f' AND p.pronargs > 0 AND p.prorettype <> 'void'::regtype
    LOOP
      CONTINUE WHEN r.body !~* '^\s*(SELECT|WITH|\()' OR r.body ~ ';'
        OR NOT EXISTS (SELECT 1 FROM unnest(all_tables) x
                        WHERE r.body ~ ('analytics\.' || x || '\M')
                       UNION ALL
                       SELECT 1 FROM pg_class v
                        WHERE v.relnamespace = 'analytics'::regnamespace AND v.relkind IN ('v', 'm')
                          AND r.body ~ ('analytics\.' || v.relname || '\M'));
      ddl := regexp_replace(
                substring(r.def from '^(.*?)\n(BEGIN ATOMIC|AS \$function\$)'),
                '\n LANGUAGE sql\n', E'\n LANGUAGE plpgsql\n')
        || E'\n SET citus.allow_nested_distributed_execution TO ''on'''
        || E'\nAS $ua_body$\n#variable_conflict use_column\nBEGIN\n'
        || CASE WHEN r.proretset THEN 'RETURN QUERY ' || r.body ELSE 'RETURN (' || r.body || ')' END
        || E';\nEND\n$ua_body$';
      -- Citus does not propagate an extension's functions: the workers too
      -- (queries pushed to the shards call them there), first, before this
      -- transaction locks the objects there.
      SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
        FROM run_command_on_workers('SET LOCAL citus.enable_ddl_propagation TO off; ' || ddl) w WHERE NOT w.success;
      IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
      END IF;
      EXECUTE ddl;
    END LOOP;

    FOREACH t IN ARRAY nested LOOP
      ddl := format('ALTER FUNCTION %s SET citus.allow_nested_distributed_execution TO on',
                    t::regprocedure);
      SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
        FROM run_command_on_workers('SET LOCAL citus.enable_ddl_propagation TO off; ' || ddl) w WHERE NOT w.success;
      IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
      END IF;
      EXECUTE ddl;
    END LOOP;

    -- user_request_analytics: its per-user subqueries call a function over
    -- the shards, which Citus cannot push down to them (only immutable
    -- functions as table expressions in a multi-shard query).  On a cluster
    -- the same figures come from subqueries grouped by user_id over the
    -- colocated tables, joined on user_id: Citus pushes the whole query to
    -- the shards, and a filter on one user routes it to that user's shard.
    -- The most used model and provider add the user's rollup_user_models
    -- rows and unfolded finished events, as user_model_usage() does.  Same
    -- columns and rows.
    ddl := $v$CREATE OR REPLACE VIEW analytics.user_request_analytics WITH (security_invoker = true) AS
SELECT c.user_id, c.total_requests, c.successful_requests, c.failed_requests, c.total_tokens,
       c.total_cost, c.avg_response_time, mm.most_used_model, mp.most_used_provider,
       l.last_request_time
  FROM (SELECT c.user_id,
               sum(c.requests)::bigint AS total_requests,
               sum(c.requests - c.failed)::bigint AS successful_requests,
               sum(c.failed)::bigint AS failed_requests,
               sum(c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens)::bigint AS total_tokens,
               sum(c.cost) AS total_cost,
               round(sum(c.response_time_sum)::numeric / NULLIF(sum(c.response_time_count), 0))::integer AS avg_response_time
          FROM analytics.usage_counters c
         GROUP BY c.user_id) c
  LEFT JOIN (SELECT m.user_id, (array_agg(m.model ORDER BY m.requests DESC, m.model))[1] AS most_used_model
               FROM (SELECT u.user_id, u.model, sum(u.requests) AS requests
                       FROM (SELECT r.user_id, r.model, r.requests FROM analytics.rollup_user_models r
                             UNION ALL
                             SELECT e.user_id, e.model, 1 FROM analytics.chat_events e
                              WHERE e.recorded_xid >= analytics.fold_watermark()
                                AND e.status IN ('completed', 'failed')) u
                      GROUP BY u.user_id, u.model) m
              GROUP BY m.user_id) mm ON mm.user_id = c.user_id
  LEFT JOIN (SELECT p.user_id, NULLIF((array_agg(p.provider ORDER BY p.requests DESC, p.provider))[1], '') AS most_used_provider
               FROM (SELECT u.user_id, u.provider, sum(u.requests) AS requests
                       FROM (SELECT r.user_id, r.provider, r.requests FROM analytics.rollup_user_models r
                             UNION ALL
                             SELECT e.user_id, COALESCE(e.provider, ''), 1 FROM analytics.chat_events e
                              WHERE e.recorded_xid >= analytics.fold_watermark()
                                AND e.status IN ('completed', 'failed')) u
                      GROUP BY u.user_id, u.provider) p
              GROUP BY p.user_id) mp ON mp.user_id = c.user_id
  LEFT JOIN (SELECT e.user_id, max(e.occurred_at) AS last_request_time
               FROM analytics.chat_events e
              GROUP BY e.user_id) l ON l.user_id = c.user_id$v$;
    SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
      FROM run_command_on_workers('SET LOCAL citus.enable_ddl_propagation TO off; ' || ddl) w WHERE NOT w.success;
    IF failed IS NOT NULL THEN
      RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
    END IF;
    EXECUTE ddl;

    -- Foreign keys between converted tables: dropped now, added back below;
    -- those of a table that stays local (billing) to a converted one: dropped.
    FOR r IN
      SELECT c.conname, c.conrelid::regclass AS tab, pg_get_constraintdef(c.oid) AS def,
             c.conrelid::regclass::text IN (SELECT 'analytics.' || x FROM unnest(all_tables) x) AS converted
        FROM pg_constraint c
       WHERE c.contype = 'f'
         AND c.connamespace = 'analytics'::regnamespace
         AND (c.conrelid::regclass::text IN (SELECT 'analytics.' || x FROM unnest(all_tables) x)
              OR c.confrelid::regclass::text IN (SELECT 'analytics.' || x FROM unnest(all_tables) x))
         AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.conrelid)
    LOOP
      IF r.converted THEN
        fks := fks || format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tab, r.conname, r.def);
      END IF;
      EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tab, r.conname);
      -- The workers' own installs hold the same key, which Citus adds back there.
      SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
        FROM run_command_on_workers(format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I',
                                            r.tab, r.conname)) w WHERE NOT w.success;
      IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
      END IF;
    END LOOP;

    FOREACH t IN ARRAY all_tables LOOP
      CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_partition p
                             WHERE p.logicalrelid = format('analytics.%I', t)::regclass);
      -- Triggers (Citus refuses them without citus.enable_unsafe_triggers).
      FOR r IN SELECT g.tgname, g.tgrelid::regclass AS rel
                 FROM pg_trigger g
                WHERE (g.tgrelid = format('analytics.%I', t)::regclass
                       OR g.tgrelid IN (SELECT p.relid FROM pg_partition_tree(format('analytics.%I', t)::regclass) p))
                  AND NOT g.tgisinternal AND g.tgparentid = 0 LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
      END LOOP;
      -- Policies without sub-selects (Citus refuses them in policies).
      FOR r IN SELECT polname, pg_get_expr(polqual, polrelid) AS qual
                 FROM pg_policy WHERE polrelid = format('analytics.%I', t)::regclass
                  AND polqual IS NOT NULL LOOP
        IF r.qual ~ '\(\s*SELECT ' THEN
          EXECUTE format('ALTER POLICY %I ON analytics.%I USING (%s)', r.polname, t,
                         regexp_replace(r.qual,
                           '\(\s*SELECT (analytics\.\w+\([^()]*\)) AS \w+\)', '\1', 'g'));
        END IF;
      END LOOP;
    END LOOP;

    -- Every event and API request is folded again by the first fold on the
    -- cluster (the rollups are emptied below), and fold() claims those with
    -- recorded_xid >= 0: clear the marks of folds on another cluster (a
    -- restored dump of a coordinator), which would keep them out.
    UPDATE analytics.chat_events e SET recorded_xid = 0 WHERE e.recorded_xid < 0;
    UPDATE analytics.api_requests a SET recorded_xid = 0 WHERE a.recorded_xid < 0;

    -- A distributed table's keys must hold its distribution column.
    IF EXISTS (SELECT 1 FROM pg_constraint
                WHERE conrelid = 'analytics.event_corrections'::regclass AND contype = 'p'
                  AND conname = 'event_corrections_pkey'
                  AND array_length(conkey, 1) = 1) THEN
      ALTER TABLE analytics.event_corrections DROP CONSTRAINT event_corrections_pkey;
      ALTER TABLE analytics.event_corrections ADD CONSTRAINT event_corrections_pkey
        PRIMARY KEY (user_id, correction_id);
    END IF;

    FOREACH t IN ARRAY reference LOOP
      CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_partition p
                             WHERE p.logicalrelid = format('analytics.%I', t)::regclass);
      PERFORM create_reference_table(format('analytics.%I', t));
      converted := converted + 1;
    END LOOP;
    FOREACH t IN ARRAY by_user LOOP
      CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_partition p
                             WHERE p.logicalrelid = format('analytics.%I', t)::regclass);
      PERFORM create_distributed_table(format('analytics.%I', t), 'user_id',
                colocate_with => CASE WHEN t = 'chat_events' THEN 'default'
                                      ELSE 'analytics.chat_events' END);
      converted := converted + 1;
    END LOOP;
    FOREACH t IN ARRAY by_org LOOP
      CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_partition p
                             WHERE p.logicalrelid = format('analytics.%I', t)::regclass);
      PERFORM create_distributed_table(format('analytics.%I', t), 'org_id',
                colocate_with => CASE WHEN t = 'api_requests' THEN 'none'
                                      ELSE 'analytics.api_requests' END);
      converted := converted + 1;
    END LOOP;
    FOREACH t IN ARRAY by_provider LOOP
      CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_partition p
                             WHERE p.logicalrelid = format('analytics.%I', t)::regclass);
      PERFORM create_distributed_table(format('analytics.%I', t), 'provider', colocate_with => 'none');
      converted := converted + 1;
    END LOOP;
    FOREACH t IN ARRAY fks LOOP
      EXECUTE t;
    END LOOP;

    -- Transaction ids are per node: the rollups are emptied and the
    -- watermark of every node is 0 for good; fold() marks folded events
    -- with a negative recorded_xid, so the next fold folds every event in
    -- the log once.  fold_state stays local.
    FOREACH t IN ARRAY all_tables LOOP
      CONTINUE WHEN t !~ '^rollup_';
      EXECUTE format('TRUNCATE analytics.%I', t);
    END LOOP;
    -- A restore repair pending (needs_repair) is moot: the next fold folds
    -- the whole log into empty rollups.
    UPDATE analytics.fold_state SET watermark = 0, events_folded = 0, folded_at = NULL, needs_repair = false;
    DELETE FROM analytics.fold_shard_state;
    SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
      FROM run_command_on_workers(
      'UPDATE analytics.fold_state SET watermark = 0, events_folded = 0, folded_at = NULL, needs_repair = false; '
      'DELETE FROM analytics.fold_shard_state') w WHERE NOT w.success;
    IF failed IS NOT NULL THEN
      RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
    END IF;

    -- The rows stay in the coordinator's shell tables after the copy: gone.
    FOREACH t IN ARRAY all_tables LOOP
      PERFORM truncate_local_data_after_distributing_table(format('analytics.%I', t));
    END LOOP;

  END IF;

  -- A second call: a worker restored from its own dump (README, "Backup and
  -- restore on a cluster") has its install as CREATE EXTENSION made it,
  -- without what the first call changed there.  The read functions it made
  -- PL/pgSQL (they carry citus.allow_nested_distributed_execution) and the
  -- cluster form of user_request_analytics, as the coordinator has them,
  -- again on every worker.
  IF converted = 0 THEN
    FOR r IN
      SELECT pg_get_functiondef(p.oid) AS def
        FROM pg_proc p
       WHERE p.pronamespace = 'analytics'::regnamespace
         AND 'citus.allow_nested_distributed_execution=on' = ANY (p.proconfig)
      UNION ALL
      SELECT 'CREATE OR REPLACE VIEW analytics.user_request_analytics WITH (security_invoker = true) AS '
             || pg_get_viewdef('analytics.user_request_analytics'::regclass)
    LOOP
      SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
        FROM run_command_on_workers('SET LOCAL citus.enable_ddl_propagation TO off; ' || r.def) w WHERE NOT w.success;
      IF failed IS NOT NULL THEN
        RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
      END IF;
    END LOOP;
  END IF;

  -- Every node draws ids from its own range: node group << 48.
  SELECT array_agg(format('analytics.%I', c.relname)) INTO seqs
    FROM pg_class c WHERE c.relkind = 'S' AND c.relnamespace = 'analytics'::regnamespace;
  SELECT string_agg(w.nodeport || ': ' || w.result, '; ') INTO failed
    FROM run_command_on_workers(format(
    $c$SELECT pg_catalog.count(pg_catalog.setval(s, ((SELECT groupid FROM pg_catalog.pg_dist_local_group)::int8 << 48) + 1, false))
         FROM pg_catalog.unnest(%L::text[]) s
        WHERE pg_catalog.nextval(s) < (SELECT groupid FROM pg_catalog.pg_dist_local_group)::int8 << 48$c$,
    seqs)) w WHERE NOT w.success;
  IF failed IS NOT NULL THEN
    RAISE EXCEPTION 'a worker refused: %', failed USING ERRCODE = '55000';
  END IF;

  IF converted > 0 THEN
    FOREACH t IN ARRAY delegated LOOP
      PERFORM create_distributed_function(t::regprocedure, 'user_id', colocate_with => 'analytics.chat_events');
    END LOOP;
  END IF;
  RETURN converted;
END
$$;
COMMENT ON FUNCTION analytics.distribute() IS
  'On a Citus coordinator with workers: distributes the extension''s tables (user-keyed by user_id, organization-keyed by org_id, catalogs as reference tables) and delegates the per-user write functions; returns how many tables it converted (0 when already distributed)';
REVOKE ALL ON FUNCTION analytics.distribute() FROM PUBLIC;
