-- The usage charges of a plan, as the pricing each invoice line records.
-- Internal.
CREATE OR REPLACE FUNCTION analytics.plan_pricing(plan_id text)
  RETURNS TABLE (meter_id text, pricing jsonb)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN QUERY
    SELECT c.meter_id,
           pg_catalog.jsonb_build_object(
             'included_units', c.included_units, 'block_size', c.block_size,
             'block_price', c.block_price, 'block_rounding', c.block_rounding,
             'tiers', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                   'from_units', t.from_units, 'block_price', t.block_price,
                                   'flat_fee', t.flat_fee) ORDER BY t.from_units)
                                  FROM analytics.plan_charge_tiers t
                                 WHERE t.plan_id = c.plan_id AND t.meter_id = c.meter_id), '[]'))
      FROM analytics.plan_charges c
     WHERE c.plan_id = plan_pricing.plan_id
    UNION ALL
    -- plans.included_units and overage_unit_price: a charge on requests.
    SELECT 'requests',
           pg_catalog.jsonb_build_object(
             'included_units', COALESCE(p.included_units, 0), 'block_size', 1,
             'block_price', COALESCE(p.overage_unit_price, 0), 'block_rounding', 'up', 'tiers', '[]'::jsonb)
      FROM analytics.plans p
     WHERE p.plan_id = plan_pricing.plan_id
       AND (p.included_units IS NOT NULL OR p.overage_unit_price IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM analytics.plan_charges c
                        WHERE c.plan_id = p.plan_id AND c.meter_id = 'requests')
    ORDER BY 1;
END
$$;
COMMENT ON FUNCTION analytics.plan_pricing(text) IS
  'The usage charges of a plan per meter as jsonb (included_units, block_size, block_price, block_rounding, tiers): its plan_charges and plan_charge_tiers, and plans.included_units / overage_unit_price as a charge on requests when it has no plan_charges row for requests (internal)';
REVOKE ALL ON FUNCTION analytics.plan_pricing(text) FROM PUBLIC;
