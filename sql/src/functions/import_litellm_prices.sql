CREATE OR REPLACE FUNCTION analytics.import_litellm_prices(catalog jsonb,
    effective_from timestamptz DEFAULT pg_catalog.now(), providers text[] DEFAULT NULL)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  k      text;
  e      jsonb;
  prov   text;
  r      numeric[];
  cur    analytics.model_prices;
  n      integer := 0;
BEGIN
  IF catalog IS NULL OR effective_from IS NULL THEN
    RAISE EXCEPTION 'catalog and effective_from must not be null' USING ERRCODE = '23502';
  END IF;
  IF jsonb_typeof(catalog) <> 'object' THEN
    RAISE EXCEPTION 'catalog must be a JSON object keyed by model name, not %', jsonb_typeof(catalog)
      USING ERRCODE = '22023';
  END IF;
  IF NOT isfinite(effective_from) THEN
    RAISE EXCEPTION 'effective_from must be a finite timestamp' USING ERRCODE = '22008';
  END IF;
  FOR k, e IN SELECT c.key, c.value FROM jsonb_each(catalog) c ORDER BY c.key LOOP
    CONTINUE WHEN k = 'sample_spec';
    IF btrim(k) = '' THEN
      RAISE EXCEPTION 'catalog has an empty model name' USING ERRCODE = '22023';
    END IF;
    IF octet_length(k) > 128 THEN
      RAISE EXCEPTION 'model name "%" is too long', k USING ERRCODE = '22001',
        DETAIL = 'At most 128 bytes.';
    END IF;
    IF jsonb_typeof(e) <> 'object' THEN
      RAISE EXCEPTION 'entry "%" must be a JSON object, not %', k, jsonb_typeof(e) USING ERRCODE = '22023';
    END IF;
    IF e ? 'mode' AND jsonb_typeof(e -> 'mode') <> 'string' THEN
      RAISE EXCEPTION 'entry "%": mode must be a string', k USING ERRCODE = '22023';
    END IF;
    -- Chat models only (embeddings, images, audio, ... are priced otherwise).
    CONTINUE WHEN e ->> 'mode' IS NULL OR e ->> 'mode' NOT IN ('chat', 'completion', 'responses');
    IF jsonb_typeof(e -> 'litellm_provider') IS DISTINCT FROM 'string' OR btrim(e ->> 'litellm_provider') = '' THEN
      RAISE EXCEPTION 'entry "%": litellm_provider must be a non-empty string', k USING ERRCODE = '22023';
    END IF;
    prov := e ->> 'litellm_provider';
    CONTINUE WHEN providers IS NOT NULL AND prov <> ALL (providers);
    r := ARRAY[analytics.litellm_rate(k, e, 'input_cost_per_token'),
               analytics.litellm_rate(k, e, 'cache_read_input_token_cost'),
               analytics.litellm_rate(k, e, 'cache_creation_input_token_cost'),
               analytics.litellm_rate(k, e, 'output_cost_per_token')];
    -- Without an input and an output price there is nothing to price with.
    CONTINUE WHEN r[1] IS NULL OR r[4] IS NULL;
    r[2] := COALESCE(r[2], r[1]);
    r[3] := COALESCE(r[3], r[1]);
    -- The same price already in force then: nothing to do (idempotent).
    SELECT p.* INTO cur FROM analytics.model_prices p
     WHERE p.provider = prov AND p.model = k AND p.effective_from <= import_litellm_prices.effective_from
     ORDER BY p.effective_from DESC LIMIT 1;
    CONTINUE WHEN FOUND AND (cur.input_per_mtok, cur.cached_input_per_mtok, cur.cache_write_per_mtok,
                             cur.output_per_mtok) = (r[1], r[2], r[3], r[4]);
    INSERT INTO analytics.model_prices AS p (provider, model, effective_from, input_per_mtok,
        cached_input_per_mtok, cache_write_per_mtok, output_per_mtok)
    VALUES (prov, k, import_litellm_prices.effective_from, r[1], r[2], r[3], r[4])
    ON CONFLICT ON CONSTRAINT model_prices_pkey DO UPDATE SET
      input_per_mtok = EXCLUDED.input_per_mtok, cached_input_per_mtok = EXCLUDED.cached_input_per_mtok,
      cache_write_per_mtok = EXCLUDED.cache_write_per_mtok, output_per_mtok = EXCLUDED.output_per_mtok,
      builtin = false;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION analytics.import_litellm_prices(jsonb, timestamptz, text[]) IS
  'Imports the chat prices of a LiteLLM model_prices_and_context_window.json catalog into model_prices from effective_from (optionally only some providers); returns how many prices it added or changed (0 when run again)';
REVOKE ALL ON FUNCTION analytics.import_litellm_prices(jsonb, timestamptz, text[]) FROM PUBLIC;
INSERT INTO analytics.access_list (kind, object_type, object_name, privilege, unscoped_only) VALUES
  ('admin', 'FUNCTION', 'analytics.import_litellm_prices(jsonb, timestamptz, text[])', 'EXECUTE', true)
  ON CONFLICT DO NOTHING;
