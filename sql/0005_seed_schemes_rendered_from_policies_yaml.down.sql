-- Restore the previous rendering

-- drop custom:auth_user_superuser
DROP POLICY IF EXISTS "auth_user_superuser" ON "django"."auth_user";
DROP FUNCTION IF EXISTS "django"."auth_user_superuser_is_superuser"(integer);

-- drop index:shop.store:owner_id
DROP INDEX IF EXISTS "shop"."store_owner_id_rls_idx";

-- drop index:shop.product:store_id
DROP INDEX IF EXISTS "shop"."product_store_id_rls_idx";

-- drop index:sales.clients:salesperson_id
DROP INDEX IF EXISTS "sales"."clients_salesperson_id_rls_idx";

-- drop index:crm.customers:organisation_id
DROP INDEX IF EXISTS "crm"."customers_organisation_id_rls_idx";

-- drop trigger:sales.salespeople:salespeople_drop_role
DROP TRIGGER IF EXISTS "salespeople_drop_role" ON "sales"."salespeople";

-- drop trigger:sales.salespeople:salespeople_create_role
DROP TRIGGER IF EXISTS "salespeople_create_role" ON "sales"."salespeople";

-- drop trigger:django.auth_user:auth_user_drop_role
DROP TRIGGER IF EXISTS "auth_user_drop_role" ON "django"."auth_user";

-- drop trigger:django.auth_user:auth_user_create_role
DROP TRIGGER IF EXISTS "auth_user_create_role" ON "django"."auth_user";

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

-- drop policy:sales.clients:clients_owner_select
DROP POLICY IF EXISTS "clients_owner_select" ON "sales"."clients";

-- drop policy:sales.clients:clients_owner_insert
DROP POLICY IF EXISTS "clients_owner_insert" ON "sales"."clients";

-- drop policy:django.auth_user:auth_user_self_owner_update
DROP POLICY IF EXISTS "auth_user_self_owner_update" ON "django"."auth_user";

-- drop policy:django.auth_user:auth_user_self_owner_select
DROP POLICY IF EXISTS "auth_user_self_owner_select" ON "django"."auth_user";

-- drop policy:crm.teams:teams_rbac_update
DROP POLICY IF EXISTS "teams_rbac_update" ON "crm"."teams";

-- drop policy:crm.teams:teams_rbac_select
DROP POLICY IF EXISTS "teams_rbac_select" ON "crm"."teams";

-- drop policy:crm.teams:teams_rbac_insert
DROP POLICY IF EXISTS "teams_rbac_insert" ON "crm"."teams";

-- drop policy:crm.teams:teams_rbac_delete
DROP POLICY IF EXISTS "teams_rbac_delete" ON "crm"."teams";

-- drop policy:crm.customers:customers_tenant_update
DROP POLICY IF EXISTS "customers_tenant_update" ON "crm"."customers";

-- drop policy:crm.customers:customers_tenant_select
DROP POLICY IF EXISTS "customers_tenant_select" ON "crm"."customers";

-- drop policy:crm.customers:customers_tenant_insert
DROP POLICY IF EXISTS "customers_tenant_insert" ON "crm"."customers";

-- drop policy:crm.customers:customers_tenant_delete
DROP POLICY IF EXISTS "customers_tenant_delete" ON "crm"."customers";

-- drop policy:cms.articles:articles_rbac_update
DROP POLICY IF EXISTS "articles_rbac_update" ON "cms"."articles";

-- drop policy:cms.articles:articles_rbac_select
DROP POLICY IF EXISTS "articles_rbac_select" ON "cms"."articles";

-- drop policy:cms.articles:articles_rbac_insert
DROP POLICY IF EXISTS "articles_rbac_insert" ON "cms"."articles";

-- drop policy:cms.articles:articles_rbac_delete
DROP POLICY IF EXISTS "articles_rbac_delete" ON "cms"."articles";

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

-- drop function:sales.salespeople_drop_role()
DROP FUNCTION IF EXISTS "sales"."salespeople_drop_role"();

-- drop function:sales.salespeople_create_role()
DROP FUNCTION IF EXISTS "sales"."salespeople_create_role"();

-- drop function:django.auth_user_drop_role()
DROP FUNCTION IF EXISTS "django"."auth_user_drop_role"();

-- drop function:django.auth_user_create_role()
DROP FUNCTION IF EXISTS "django"."auth_user_create_role"();

-- drop function:crm.teams_has_permission(text)
DROP FUNCTION IF EXISTS "crm"."teams_has_permission"(text);

-- drop function:crm.customers_tenant_ids(integer)
DROP FUNCTION IF EXISTS "crm"."customers_tenant_ids"(integer);

-- drop function:cms.articles_has_permission(text)
DROP FUNCTION IF EXISTS "cms"."articles_has_permission"(text);

-- drop rls:shop.store
ALTER TABLE "shop"."store" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "shop"."store" DISABLE ROW LEVEL SECURITY;

-- drop rls:shop.product
ALTER TABLE "shop"."product" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "shop"."product" DISABLE ROW LEVEL SECURITY;

-- drop rls:shop.account
ALTER TABLE "shop"."account" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "shop"."account" DISABLE ROW LEVEL SECURITY;

-- drop rls:sales.clients
ALTER TABLE "sales"."clients" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "sales"."clients" DISABLE ROW LEVEL SECURITY;

-- drop rls:django.auth_user
ALTER TABLE "django"."auth_user" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "django"."auth_user" DISABLE ROW LEVEL SECURITY;

-- drop rls:crm.teams
ALTER TABLE "crm"."teams" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "crm"."teams" DISABLE ROW LEVEL SECURITY;

-- drop rls:crm.customers
ALTER TABLE "crm"."customers" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "crm"."customers" DISABLE ROW LEVEL SECURITY;

-- drop rls:cms.articles
ALTER TABLE "cms"."articles" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "cms"."articles" DISABLE ROW LEVEL SECURITY;

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
