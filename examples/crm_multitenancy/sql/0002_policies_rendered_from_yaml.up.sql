-- Policy changes rendered by rlskit from policies/*.yaml

-- create rls:crm.customers (policies/004_crm.yaml:14)
ALTER TABLE "crm"."customers" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "crm"."customers" FORCE ROW LEVEL SECURITY;

-- create rls:crm.teams (policies/004_crm.yaml:25)
ALTER TABLE "crm"."teams" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "crm"."teams" FORCE ROW LEVEL SECURITY;

-- create function:crm.customers_tenant_ids(integer) (policies/004_crm.yaml:14)
CREATE OR REPLACE FUNCTION "crm"."customers_tenant_ids"(integer) RETURNS integer[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT coalesce(array_agg(m."organisation_id"), '{}')::integer[]
FROM "crm"."memberships" AS m
WHERE m."user_id" = $1
$rlskit$;
REVOKE ALL ON FUNCTION "crm"."customers_tenant_ids"(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "crm"."customers_tenant_ids"(integer) TO "application";

-- create function:crm.teams_has_permission(text) (policies/004_crm.yaml:25)
CREATE OR REPLACE FUNCTION "crm"."teams_has_permission"(text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT EXISTS (
    SELECT 1 FROM "crm"."roles_permissions" AS p
    WHERE p."role"::text = nullif(current_setting('row_level_security.role', true), '')::text
      AND p."permission"::text = $1)
$rlskit$;
REVOKE ALL ON FUNCTION "crm"."teams_has_permission"(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "crm"."teams_has_permission"(text) TO "application";

-- create policy:crm.customers:customers_tenant_delete (policies/004_crm.yaml:14)
CREATE POLICY "customers_tenant_delete" ON "crm"."customers"
    AS PERMISSIVE FOR DELETE TO "application"
    USING ("organisation_id" = ANY ((SELECT "crm"."customers_tenant_ids"(nullif(current_setting('row_level_security.user_id', true), '')::integer))::integer[]));

-- create policy:crm.customers:customers_tenant_insert (policies/004_crm.yaml:14)
CREATE POLICY "customers_tenant_insert" ON "crm"."customers"
    AS PERMISSIVE FOR INSERT TO "application"
    WITH CHECK ("organisation_id" = ANY ((SELECT "crm"."customers_tenant_ids"(nullif(current_setting('row_level_security.user_id', true), '')::integer))::integer[]));

-- create policy:crm.customers:customers_tenant_select (policies/004_crm.yaml:14)
CREATE POLICY "customers_tenant_select" ON "crm"."customers"
    AS PERMISSIVE FOR SELECT TO "application"
    USING ("organisation_id" = ANY ((SELECT "crm"."customers_tenant_ids"(nullif(current_setting('row_level_security.user_id', true), '')::integer))::integer[]));

-- create policy:crm.customers:customers_tenant_update (policies/004_crm.yaml:14)
CREATE POLICY "customers_tenant_update" ON "crm"."customers"
    AS PERMISSIVE FOR UPDATE TO "application"
    USING ("organisation_id" = ANY ((SELECT "crm"."customers_tenant_ids"(nullif(current_setting('row_level_security.user_id', true), '')::integer))::integer[]))
    WITH CHECK ("organisation_id" = ANY ((SELECT "crm"."customers_tenant_ids"(nullif(current_setting('row_level_security.user_id', true), '')::integer))::integer[]));

-- create policy:crm.teams:teams_rbac_delete (policies/004_crm.yaml:25)
CREATE POLICY "teams_rbac_delete" ON "crm"."teams"
    AS PERMISSIVE FOR DELETE TO "application"
    USING ((SELECT "crm"."teams_has_permission"('ManageTeam')));

-- create policy:crm.teams:teams_rbac_insert (policies/004_crm.yaml:25)
CREATE POLICY "teams_rbac_insert" ON "crm"."teams"
    AS PERMISSIVE FOR INSERT TO "application"
    WITH CHECK ((SELECT "crm"."teams_has_permission"('ManageTeam')));

-- create policy:crm.teams:teams_rbac_select (policies/004_crm.yaml:25)
CREATE POLICY "teams_rbac_select" ON "crm"."teams"
    AS PERMISSIVE FOR SELECT TO "application"
    USING ((SELECT "crm"."teams_has_permission"('ManageTeam')));

-- create policy:crm.teams:teams_rbac_update (policies/004_crm.yaml:25)
CREATE POLICY "teams_rbac_update" ON "crm"."teams"
    AS PERMISSIVE FOR UPDATE TO "application"
    USING ((SELECT "crm"."teams_has_permission"('ManageTeam')))
    WITH CHECK ((SELECT "crm"."teams_has_permission"('ManageTeam')));

-- create index:crm.customers:organisation_id (policies/004_crm.yaml:14)
CREATE INDEX IF NOT EXISTS "customers_organisation_id_rls_idx" ON "crm"."customers" ("organisation_id");
