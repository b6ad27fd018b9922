-- A widget's allowed domains, checked and normalised: lower case, sorted,
-- without duplicates.  Internal: create_widget and update_widget call it.
CREATE OR REPLACE FUNCTION analytics.check_widget_domains(domains text[]) RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  d text;
BEGIN
  IF domains IS NULL THEN
    RAISE EXCEPTION 'allowed_domains must not be NULL' USING ERRCODE = '23502';
  END IF;
  IF cardinality(domains) > 100 THEN
    RAISE EXCEPTION 'allowed_domains has more than 100 entries' USING ERRCODE = '22023';
  END IF;
  FOREACH d IN ARRAY domains LOOP
    IF d IS NULL OR lower(d) !~ '^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[0-9]{1,5})?$'
       OR octet_length(d) > 253 THEN
      RAISE EXCEPTION 'allowed_domains entry % is not a host name', COALESCE(quote_literal(d), 'NULL')
        USING ERRCODE = '22023',
              HINT = 'Give host names such as example.com or *.example.com (optionally with :port), without scheme or path.';
    END IF;
  END LOOP;
  RETURN ARRAY(SELECT DISTINCT lower(x) COLLATE "C" FROM unnest(domains) x ORDER BY 1);
END
$$;
COMMENT ON FUNCTION analytics.check_widget_domains(text[]) IS
  'A widget''s allowed domains checked (host names, optional *. and :port, at most 100) and normalised: lower case, sorted, distinct (internal)';
REVOKE ALL ON FUNCTION analytics.check_widget_domains(text[]) FROM PUBLIC;
