-- Policy changes rendered by rlskit from policies/*.yaml

-- create rls:cms.articles (policies/001_cms.yaml:15)
ALTER TABLE "cms"."articles" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "cms"."articles" FORCE ROW LEVEL SECURITY;

-- create function:cms.articles_has_permission(text) (policies/001_cms.yaml:15)
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

-- create policy:cms.articles:articles_rbac_delete (policies/001_cms.yaml:15)
CREATE POLICY "articles_rbac_delete" ON "cms"."articles"
    AS PERMISSIVE FOR DELETE TO "mister_nobody"
    USING ((SELECT "cms"."articles_has_permission"('delete_articles')));

-- create policy:cms.articles:articles_rbac_insert (policies/001_cms.yaml:15)
CREATE POLICY "articles_rbac_insert" ON "cms"."articles"
    AS PERMISSIVE FOR INSERT TO "mister_nobody"
    WITH CHECK ((SELECT "cms"."articles_has_permission"('create_articles')));

-- create policy:cms.articles:articles_rbac_select (policies/001_cms.yaml:15)
CREATE POLICY "articles_rbac_select" ON "cms"."articles"
    AS PERMISSIVE FOR SELECT TO "mister_nobody"
    USING ((SELECT "cms"."articles_has_permission"('edit_articles'))
        OR ((SELECT "cms"."articles_has_permission"('read_articles')) AND "status" = 'published'));

-- create policy:cms.articles:articles_rbac_update (policies/001_cms.yaml:15)
CREATE POLICY "articles_rbac_update" ON "cms"."articles"
    AS PERMISSIVE FOR UPDATE TO "mister_nobody"
    USING ((SELECT "cms"."articles_has_permission"('edit_articles')))
    WITH CHECK ((SELECT "cms"."articles_has_permission"('edit_articles')));
