-- Policy changes rendered by rlskit from policies/*.yaml

-- create role:normal_account (policies/003_shop.yaml:13)
CREATE ROLE "normal_account" NOLOGIN;

-- create role:store_owner (policies/003_shop.yaml:13)
CREATE ROLE "store_owner" NOLOGIN;

-- create role:super_admin (policies/003_shop.yaml:13)
CREATE ROLE "super_admin" NOLOGIN;

-- create membership:normal_account>store_owner (policies/003_shop.yaml:13)
GRANT "normal_account" TO "store_owner";

-- create membership:store_owner>super_admin (policies/003_shop.yaml:13)
GRANT "store_owner" TO "super_admin";

-- create rls:shop.account (policies/003_shop.yaml:13)
ALTER TABLE "shop"."account" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shop"."account" FORCE ROW LEVEL SECURITY;

-- create rls:shop.product (policies/003_shop.yaml:13)
ALTER TABLE "shop"."product" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shop"."product" FORCE ROW LEVEL SECURITY;

-- create rls:shop.store (policies/003_shop.yaml:13)
ALTER TABLE "shop"."store" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shop"."store" FORCE ROW LEVEL SECURITY;

-- create function:shop.product_of_own_store_owned_store_ids(integer) (policies/003_shop.yaml:61)
CREATE OR REPLACE FUNCTION "shop"."product_of_own_store_owned_store_ids"(integer) RETURNS integer[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT coalesce(array_agg(p."id"), '{}')::integer[]
FROM "shop"."store" AS p
WHERE p."owner_id" = $1
$rlskit$;
REVOKE ALL ON FUNCTION "shop"."product_of_own_store_owned_store_ids"(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "shop"."product_of_own_store_owned_store_ids"(integer) TO "store_owner";

-- create grant:schema shop:normal_account:USAGE (policies/003_shop.yaml:13)
GRANT USAGE ON SCHEMA "shop" TO "normal_account";

-- create grant:shop.account:normal_account:SELECT (policies/003_shop.yaml:13)
GRANT SELECT ON TABLE "shop"."account" TO "normal_account";

-- create grant:shop.account:normal_account:UPDATE(password,phone_number,username) (policies/003_shop.yaml:13)
GRANT UPDATE ("password", "phone_number", "username") ON TABLE "shop"."account" TO "normal_account";

-- create grant:shop.account:super_admin:ALL (policies/003_shop.yaml:13)
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."account" TO "super_admin";

-- create grant:shop.account_id_seq:super_admin:ALL (policies/003_shop.yaml:13)
GRANT USAGE, SELECT, UPDATE ON SEQUENCE "shop"."account_id_seq" TO "super_admin";

-- create grant:shop.product:normal_account:SELECT (policies/003_shop.yaml:13)
GRANT SELECT ON TABLE "shop"."product" TO "normal_account";

-- create grant:shop.product:store_owner:DELETE, INSERT (policies/003_shop.yaml:13)
GRANT DELETE, INSERT ON TABLE "shop"."product" TO "store_owner";

-- create grant:shop.product:store_owner:UPDATE(description,name,stock) (policies/003_shop.yaml:13)
GRANT UPDATE ("description", "name", "stock") ON TABLE "shop"."product" TO "store_owner";

-- create grant:shop.product:super_admin:ALL (policies/003_shop.yaml:13)
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."product" TO "super_admin";

-- create grant:shop.product_id_seq:store_owner:SELECT, USAGE (policies/003_shop.yaml:13)
GRANT SELECT, USAGE ON SEQUENCE "shop"."product_id_seq" TO "store_owner";

-- create grant:shop.product_id_seq:super_admin:ALL (policies/003_shop.yaml:13)
GRANT USAGE, SELECT, UPDATE ON SEQUENCE "shop"."product_id_seq" TO "super_admin";

-- create grant:shop.store:normal_account:SELECT(description,id,name) (policies/003_shop.yaml:13)
GRANT SELECT ("description", "id", "name") ON TABLE "shop"."store" TO "normal_account";

-- create grant:shop.store:store_owner:SELECT(owner_id,rank) (policies/003_shop.yaml:13)
GRANT SELECT ("owner_id", "rank") ON TABLE "shop"."store" TO "store_owner";

-- create grant:shop.store:store_owner:UPDATE(description,name) (policies/003_shop.yaml:13)
GRANT UPDATE ("description", "name") ON TABLE "shop"."store" TO "store_owner";

-- create grant:shop.store:super_admin:ALL (policies/003_shop.yaml:13)
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."store" TO "super_admin";

-- create grant:shop.store_id_seq:super_admin:ALL (policies/003_shop.yaml:13)
GRANT USAGE, SELECT, UPDATE ON SEQUENCE "shop"."store_id_seq" TO "super_admin";

-- create policy:shop.account:account_admin_all (policies/003_shop.yaml:13)
CREATE POLICY "account_admin_all" ON "shop"."account"
    AS PERMISSIVE FOR ALL TO "super_admin"
    USING (true)
    WITH CHECK (true);

-- create policy:shop.account:account_owner_select (policies/003_shop.yaml:34)
CREATE POLICY "account_owner_select" ON "shop"."account"
    AS PERMISSIVE FOR SELECT TO "normal_account"
    USING ("id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer));

-- create policy:shop.account:account_owner_update (policies/003_shop.yaml:34)
CREATE POLICY "account_owner_update" ON "shop"."account"
    AS PERMISSIVE FOR UPDATE TO "normal_account"
    USING ("id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer))
    WITH CHECK ("id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer));

-- create policy:shop.product:product_admin_all (policies/003_shop.yaml:13)
CREATE POLICY "product_admin_all" ON "shop"."product"
    AS PERMISSIVE FOR ALL TO "super_admin"
    USING (true)
    WITH CHECK (true);

-- create policy:shop.product:product_catalog_all_select (policies/003_shop.yaml:55)
CREATE POLICY "product_catalog_all_select" ON "shop"."product"
    AS PERMISSIVE FOR SELECT TO "normal_account"
    USING (true);

-- create policy:shop.product:product_of_own_store_owner_delete (policies/003_shop.yaml:61)
CREATE POLICY "product_of_own_store_owner_delete" ON "shop"."product"
    AS PERMISSIVE FOR DELETE TO "store_owner"
    USING ("store_id" = ANY ((SELECT "shop"."product_of_own_store_owned_store_ids"(nullif(current_setting('auth.current_account_id', true), '')::integer))::integer[]));

-- create policy:shop.product:product_of_own_store_owner_insert (policies/003_shop.yaml:61)
CREATE POLICY "product_of_own_store_owner_insert" ON "shop"."product"
    AS PERMISSIVE FOR INSERT TO "store_owner"
    WITH CHECK ("store_id" = ANY ((SELECT "shop"."product_of_own_store_owned_store_ids"(nullif(current_setting('auth.current_account_id', true), '')::integer))::integer[]));

-- create policy:shop.product:product_of_own_store_owner_update (policies/003_shop.yaml:61)
CREATE POLICY "product_of_own_store_owner_update" ON "shop"."product"
    AS PERMISSIVE FOR UPDATE TO "store_owner"
    USING ("store_id" = ANY ((SELECT "shop"."product_of_own_store_owned_store_ids"(nullif(current_setting('auth.current_account_id', true), '')::integer))::integer[]))
    WITH CHECK ("store_id" = ANY ((SELECT "shop"."product_of_own_store_owned_store_ids"(nullif(current_setting('auth.current_account_id', true), '')::integer))::integer[]));

-- create policy:shop.store:store_admin_all (policies/003_shop.yaml:13)
CREATE POLICY "store_admin_all" ON "shop"."store"
    AS PERMISSIVE FOR ALL TO "super_admin"
    USING (true)
    WITH CHECK (true);

-- create policy:shop.store:store_catalog_all_select (policies/003_shop.yaml:42)
CREATE POLICY "store_catalog_all_select" ON "shop"."store"
    AS PERMISSIVE FOR SELECT TO "normal_account"
    USING (true);

-- create policy:shop.store:store_owner_update (policies/003_shop.yaml:48)
CREATE POLICY "store_owner_update" ON "shop"."store"
    AS PERMISSIVE FOR UPDATE TO "store_owner"
    USING ("owner_id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer))
    WITH CHECK ("owner_id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer));

-- create index:shop.product:store_id (policies/003_shop.yaml:61)
CREATE INDEX IF NOT EXISTS "product_store_id_rls_idx" ON "shop"."product" ("store_id");

-- create index:shop.store:owner_id (policies/003_shop.yaml:48)
CREATE INDEX IF NOT EXISTS "store_owner_id_rls_idx" ON "shop"."store" ("owner_id");
