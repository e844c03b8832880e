-- Restore the previous rendering

-- drop policy:cms.articles:articles_rbac_update
DROP POLICY IF EXISTS "articles_rbac_update" ON "cms"."articles";

-- drop policy:cms.articles:articles_rbac_select
DROP POLICY IF EXISTS "articles_rbac_select" ON "cms"."articles";

-- drop policy:cms.articles:articles_rbac_insert
DROP POLICY IF EXISTS "articles_rbac_insert" ON "cms"."articles";

-- drop policy:cms.articles:articles_rbac_delete
DROP POLICY IF EXISTS "articles_rbac_delete" ON "cms"."articles";

-- drop function:cms.articles_has_permission(text)
DROP FUNCTION IF EXISTS "cms"."articles_has_permission"(text);

-- drop rls:cms.articles
ALTER TABLE "cms"."articles" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "cms"."articles" DISABLE ROW LEVEL SECURITY;
