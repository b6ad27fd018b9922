-- The priced lines of a meter's quantity under a pricing (plan_pricing).
-- Internal.
CREATE OR REPLACE FUNCTION analytics.price_usage(quantity numeric, pricing jsonb, minor_unit integer)
  RETURNS TABLE (kind text, tier_from numeric, tier_to numeric, overage numeric, blocks numeric,
                 unit_price numeric, flat_fee numeric, amount numeric)
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN QUERY
    WITH c AS (
      SELECT (pricing->>'included_units')::numeric AS included,
             (pricing->>'block_size')::numeric AS size,
             (pricing->>'block_price')::numeric AS price,
             pricing->>'block_rounding' AS rounding,
             GREATEST(quantity - (pricing->>'included_units')::numeric, 0) AS over,
             pg_catalog.jsonb_array_length(pricing->'tiers') AS ntiers
    ), t AS (
      -- Graduated tiers: the overage in [from_units, next from_units).
      SELECT c.*, (e->>'from_units')::numeric AS lo,
             LEAD((e->>'from_units')::numeric) OVER (ORDER BY (e->>'from_units')::numeric) AS hi,
             (e->>'block_price')::numeric AS tprice, (e->>'flat_fee')::numeric AS tflat
        FROM c, pg_catalog.jsonb_array_elements(pricing->'tiers') e
    ), u AS (
      SELECT 'usage'::text AS kind, NULL::numeric AS lo, NULL::numeric AS hi, c.over AS units,
             c.size, c.price, 0::numeric AS flat, c.rounding
        FROM c WHERE c.ntiers = 0
      UNION ALL
      SELECT 'tier', t.lo, t.hi, LEAST(t.over, COALESCE(t.hi, t.over)) - t.lo, t.size, t.tprice, t.tflat, t.rounding
        FROM t WHERE t.over > t.lo
    )
    SELECT u.kind, u.lo, u.hi, u.units, b.blocks, u.price, u.flat,
           pg_catalog.round(CASE u.rounding WHEN 'exact' THEN u.units * u.price / u.size
                                             ELSE b.blocks * u.price END + u.flat, minor_unit)
      FROM u, LATERAL (SELECT CASE u.rounding WHEN 'up' THEN pg_catalog.ceil(u.units / u.size)
                                               WHEN 'down' THEN pg_catalog.floor(u.units / u.size)
                                               ELSE u.units / u.size END AS blocks) b
     ORDER BY u.lo NULLS FIRST;
END
$$;
COMMENT ON FUNCTION analytics.price_usage(numeric, jsonb, integer) IS
  'Prices a quantity under a pricing: one usage line (the overage beyond included_units in blocks of block_size, rounded up, down or exact, times block_price) or one line per graduated tier reached (its overage units, blocks, block price, flat fee); each amount rounded half-up to minor_unit digits (internal)';
REVOKE ALL ON FUNCTION analytics.price_usage(numeric, jsonb, integer) FROM PUBLIC;
