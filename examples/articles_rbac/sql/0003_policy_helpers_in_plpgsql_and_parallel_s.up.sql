-- Policy changes rendered by rlskit from policies/*.yaml

-- replace function:cms.articles_has_permission(text) (policies/001_cms.yaml:15)
CREATE OR REPLACE FUNCTION "cms"."articles_has_permission"(text) RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM "cms"."auth_role_permission" AS p
        WHERE p."role"::text = nullif(current_setting('myapp.role', true), '')::text
          AND p."permission"::text = $1);
END
$rlskit$;
REVOKE ALL ON FUNCTION "cms"."articles_has_permission"(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "cms"."articles_has_permission"(text) TO "mister_nobody";
