-- Restore the previous rendering

-- drop index:crm.customers:organisation_id
DROP INDEX IF EXISTS "crm"."customers_organisation_id_rls_idx";

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

-- drop function:crm.teams_has_permission(text)
DROP FUNCTION IF EXISTS "crm"."teams_has_permission"(text);

-- drop function:crm.customers_tenant_ids(integer)
DROP FUNCTION IF EXISTS "crm"."customers_tenant_ids"(integer);

-- drop rls:crm.teams
ALTER TABLE "crm"."teams" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "crm"."teams" DISABLE ROW LEVEL SECURITY;

-- drop rls:crm.customers
ALTER TABLE "crm"."customers" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "crm"."customers" DISABLE ROW LEVEL SECURITY;
