-- Restore the previous rendering

-- restore function:cms.articles_has_permission(text)
CREATE OR REPLACE FUNCTION "cms"."articles_has_permission"(text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT EXISTS (
    SELECT 1 FROM "cms"."auth_role_permission" AS p
    WHERE p."role"::text = nullif(current_setting('myapp.role', true), '')::text
      AND p."permission"::text = $1)
$rlskit$;
REVOKE ALL ON FUNCTION "cms"."articles_has_permission"(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "cms"."articles_has_permission"(text) TO "mister_nobody";
