-- Restore the previous rendering

-- drop policy:shop.store:store_definer_select
DROP POLICY IF EXISTS "store_definer_select" ON "shop"."store";
