-- Policy changes rendered by rlskit from policies/*.yaml

-- create policy:shop.store:store_definer_select (policies/003_shop.yaml:61)
-- For the role running the migrations only: it owns the SECURITY DEFINER
-- helpers that read this table, and FORCE RLS applies to it (no superuser).
CREATE POLICY "store_definer_select" ON "shop"."store"
    AS PERMISSIVE FOR SELECT TO CURRENT_USER
    USING (true);
