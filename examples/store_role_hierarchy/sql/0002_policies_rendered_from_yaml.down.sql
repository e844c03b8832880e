-- Restore the previous rendering

-- drop index:shop.store:owner_id
DROP INDEX IF EXISTS "shop"."store_owner_id_rls_idx";

-- drop index:shop.product:store_id
DROP INDEX IF EXISTS "shop"."product_store_id_rls_idx";

-- drop policy:shop.store:store_owner_update
DROP POLICY IF EXISTS "store_owner_update" ON "shop"."store";

-- drop policy:shop.store:store_catalog_all_select
DROP POLICY IF EXISTS "store_catalog_all_select" ON "shop"."store";

-- drop policy:shop.store:store_admin_all
DROP POLICY IF EXISTS "store_admin_all" ON "shop"."store";

-- drop policy:shop.product:product_of_own_store_owner_update
DROP POLICY IF EXISTS "product_of_own_store_owner_update" ON "shop"."product";

-- drop policy:shop.product:product_of_own_store_owner_insert
DROP POLICY IF EXISTS "product_of_own_store_owner_insert" ON "shop"."product";

-- drop policy:shop.product:product_of_own_store_owner_delete
DROP POLICY IF EXISTS "product_of_own_store_owner_delete" ON "shop"."product";

-- drop policy:shop.product:product_catalog_all_select
DROP POLICY IF EXISTS "product_catalog_all_select" ON "shop"."product";

-- drop policy:shop.product:product_admin_all
DROP POLICY IF EXISTS "product_admin_all" ON "shop"."product";

-- drop policy:shop.account:account_owner_update
DROP POLICY IF EXISTS "account_owner_update" ON "shop"."account";

-- drop policy:shop.account:account_owner_select
DROP POLICY IF EXISTS "account_owner_select" ON "shop"."account";

-- drop policy:shop.account:account_admin_all
DROP POLICY IF EXISTS "account_admin_all" ON "shop"."account";

-- drop grant:shop.store_id_seq:super_admin:ALL
REVOKE USAGE, SELECT, UPDATE ON SEQUENCE "shop"."store_id_seq" FROM "super_admin";

-- drop grant:shop.store:super_admin:ALL
REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."store" FROM "super_admin";

-- drop grant:shop.store:store_owner:UPDATE(description,name)
REVOKE UPDATE ("description", "name") ON TABLE "shop"."store" FROM "store_owner";

-- drop grant:shop.store:store_owner:SELECT(owner_id,rank)
REVOKE SELECT ("owner_id", "rank") ON TABLE "shop"."store" FROM "store_owner";

-- drop grant:shop.store:normal_account:SELECT(description,id,name)
REVOKE SELECT ("description", "id", "name") ON TABLE "shop"."store" FROM "normal_account";

-- drop grant:shop.product_id_seq:super_admin:ALL
REVOKE USAGE, SELECT, UPDATE ON SEQUENCE "shop"."product_id_seq" FROM "super_admin";

-- drop grant:shop.product_id_seq:store_owner:SELECT, USAGE
REVOKE SELECT, USAGE ON SEQUENCE "shop"."product_id_seq" FROM "store_owner";

-- drop grant:shop.product:super_admin:ALL
REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."product" FROM "super_admin";

-- drop grant:shop.product:store_owner:UPDATE(description,name,stock)
REVOKE UPDATE ("description", "name", "stock") ON TABLE "shop"."product" FROM "store_owner";

-- drop grant:shop.product:store_owner:DELETE, INSERT
REVOKE DELETE, INSERT ON TABLE "shop"."product" FROM "store_owner";

-- drop grant:shop.product:normal_account:SELECT
REVOKE SELECT ON TABLE "shop"."product" FROM "normal_account";

-- drop grant:shop.account_id_seq:super_admin:ALL
REVOKE USAGE, SELECT, UPDATE ON SEQUENCE "shop"."account_id_seq" FROM "super_admin";

-- drop grant:shop.account:super_admin:ALL
REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."account" FROM "super_admin";

-- drop grant:shop.account:normal_account:UPDATE(password,phone_number,username)
REVOKE UPDATE ("password", "phone_number", "username") ON TABLE "shop"."account" FROM "normal_account";

-- drop grant:shop.account:normal_account:SELECT
REVOKE SELECT ON TABLE "shop"."account" FROM "normal_account";

-- drop grant:schema shop:normal_account:USAGE
REVOKE USAGE ON SCHEMA "shop" FROM "normal_account";

-- drop function:shop.product_of_own_store_owned_store_ids(integer)
DROP FUNCTION IF EXISTS "shop"."product_of_own_store_owned_store_ids"(integer);

-- drop rls:shop.store
ALTER TABLE "shop"."store" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "shop"."store" DISABLE ROW LEVEL SECURITY;

-- drop rls:shop.product
ALTER TABLE "shop"."product" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "shop"."product" DISABLE ROW LEVEL SECURITY;

-- drop rls:shop.account
ALTER TABLE "shop"."account" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "shop"."account" DISABLE ROW LEVEL SECURITY;

-- drop membership:store_owner>super_admin
REVOKE "store_owner" FROM "super_admin";

-- drop membership:normal_account>store_owner
REVOKE "normal_account" FROM "store_owner";

-- drop role:super_admin
DROP ROLE "super_admin";

-- drop role:store_owner
DROP ROLE "store_owner";

-- drop role:normal_account
DROP ROLE "normal_account";
