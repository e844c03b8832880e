-- Restore the previous rendering

-- restore function:crm.customers_tenant_ids(integer)
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

-- restore function:crm.teams_has_permission(text)
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
