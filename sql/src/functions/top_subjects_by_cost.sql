/*
 * Seed 004's top subjects by cost: the provider cost (USD, from the exact
 * counters) of each subject over the local days [from_date, to_date),
 * most expensive first.  Subjects: an organization (its pooled counters,
 * the requests made with its org_id) and a user (the user's requests
 * outside organizations: the user's counters less the member rows).
 * SECURITY INVOKER: the row-level security of the counters decides (an end
 * user sees only their own row, an organization's owners, admins and
 * members its total).  Errors: a NULL date 23502, to_date before
 * from_date or a limit outside 1-1000 22023.
 */
CREATE OR REPLACE FUNCTION analytics.top_subjects_by_cost(from_date date, to_date date, "limit" integer DEFAULT 10)
  RETURNS TABLE (subject_type text, subject_id text, requests bigint, tokens bigint, cost numeric)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF from_date IS NULL OR to_date IS NULL THEN
    RAISE EXCEPTION 'from_date and to_date must not be null' USING ERRCODE = '23502';
  END IF;
  IF to_date < from_date THEN
    RAISE EXCEPTION 'to_date must not be before from_date' USING ERRCODE = '22023';
  END IF;
  IF "limit" IS NULL OR "limit" < 1 OR "limit" > 1000 THEN
    RAISE EXCEPTION 'limit must be between 1 and 1000' USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  SELECT t.st, t.sid, sum(t.r)::bigint, sum(t.tk)::bigint, sum(t.c)
    FROM (SELECT 'organization' AS st, c.org_id AS sid, c.requests AS r,
                 c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens AS tk, c.cost AS c
            FROM analytics.org_usage_counters c
           WHERE c.user_id = '' AND c.usage_date >= from_date AND c.usage_date < to_date
          UNION ALL
          SELECT 'user', c.user_id, c.requests,
                 c.input_tokens + c.cached_input_tokens + c.cache_write_tokens + c.output_tokens, c.cost
            FROM analytics.usage_counters c
           WHERE c.usage_date >= from_date AND c.usage_date < to_date
          UNION ALL
          SELECT 'user', m.user_id, -m.requests,
                 -(m.input_tokens + m.cached_input_tokens + m.cache_write_tokens + m.output_tokens), -m.cost
            FROM analytics.org_usage_counters m
           WHERE m.user_id <> '' AND m.usage_date >= from_date AND m.usage_date < to_date) t
   GROUP BY t.st, t.sid
  HAVING sum(t.r) <> 0 OR sum(t.c) <> 0
   ORDER BY sum(t.c) DESC, t.st, t.sid
   LIMIT "limit";
END
$$;
COMMENT ON FUNCTION analytics.top_subjects_by_cost(date, date, integer) IS
  'Subjects (organizations, and users outside organizations) by provider cost over the local days [from_date, to_date), most expensive first, from the exact counters; the caller''s row-level security decides';
REVOKE ALL ON FUNCTION analytics.top_subjects_by_cost(date, date, integer) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege) VALUES
  ('*', 'FUNCTION', 'analytics.top_subjects_by_cost(date, date, integer)', 'EXECUTE')
  ON CONFLICT DO NOTHING;
