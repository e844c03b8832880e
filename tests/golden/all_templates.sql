-- Rendered by rlskit from policies/*.yaml; do not edit by hand.

-- role:normal_account  (golden/all_templates.yaml:29)
CREATE ROLE "normal_account" NOLOGIN;

-- role:store_owner  (golden/all_templates.yaml:29)
CREATE ROLE "store_owner" NOLOGIN;

-- membership:normal_account>store_owner  (golden/all_templates.yaml:29)
GRANT "normal_account" TO "store_owner";

-- rls:app.customers  (golden/all_templates.yaml:4)
ALTER TABLE "app"."customers" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "app"."customers" FORCE ROW LEVEL SECURITY;

-- rls:app.notes  (golden/all_templates.yaml:9)
ALTER TABLE "app"."notes" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "app"."notes" FORCE ROW LEVEL SECURITY;

-- rls:cms.articles  (golden/all_templates.yaml:14)
ALTER TABLE "cms"."articles" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "cms"."articles" FORCE ROW LEVEL SECURITY;

-- rls:crm.customers  (golden/all_templates.yaml:37)
ALTER TABLE "crm"."customers" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "crm"."customers" FORCE ROW LEVEL SECURITY;

-- rls:shop.catalog  (golden/all_templates.yaml:55)
ALTER TABLE "shop"."catalog" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shop"."catalog" FORCE ROW LEVEL SECURITY;

-- rls:shop.product  (golden/all_templates.yaml:48)
ALTER TABLE "shop"."product" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shop"."product" FORCE ROW LEVEL SECURITY;

-- rls:shop.store  (golden/all_templates.yaml:29)
ALTER TABLE "shop"."store" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shop"."store" FORCE ROW LEVEL SECURITY;

-- function:cms.articles_has_permission(text)  (golden/all_templates.yaml:14)
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

-- function:crm.crm_customers_tenant_ids(bigint)  (golden/all_templates.yaml:37)
CREATE OR REPLACE FUNCTION "crm"."crm_customers_tenant_ids"(bigint) RETURNS bigint[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
BEGIN
    RETURN (SELECT coalesce(array_agg(m."organisation_id"), '{}')::bigint[]
            FROM "crm"."memberships" AS m
            WHERE m."user_id" = $1);
END
$rlskit$;
REVOKE ALL ON FUNCTION "crm"."crm_customers_tenant_ids"(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "crm"."crm_customers_tenant_ids"(bigint) TO "app_user";

-- function:django.auth_user_create_role()  (golden/all_templates.yaml:24)
CREATE OR REPLACE FUNCTION "django"."auth_user_create_role"() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
DECLARE
    role_name text := 'django:' || NEW."id";
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
    END IF;
    EXECUTE format('GRANT %I TO %I', 'django_users', role_name);
    EXECUTE format('GRANT %I TO %I', role_name, 'django');
    RETURN NULL;
END
$rlskit$;
REVOKE ALL ON FUNCTION "django"."auth_user_create_role"() FROM PUBLIC;

-- function:django.auth_user_drop_role()  (golden/all_templates.yaml:24)
CREATE OR REPLACE FUNCTION "django"."auth_user_drop_role"() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
BEGIN
    EXECUTE format('DROP ROLE IF EXISTS %I', 'django:' || OLD."id");
    RETURN NULL;
END
$rlskit$;
REVOKE ALL ON FUNCTION "django"."auth_user_drop_role"() FROM PUBLIC;

-- function:shop.product_owner_owned_store_ids(bigint)  (golden/all_templates.yaml:48)
CREATE OR REPLACE FUNCTION "shop"."product_owner_owned_store_ids"(bigint) RETURNS bigint[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
BEGIN
    RETURN (SELECT coalesce(array_agg(p."id"), '{}')::bigint[]
            FROM "shop"."store" AS p
            WHERE p."owner_id" = $1);
END
$rlskit$;
REVOKE ALL ON FUNCTION "shop"."product_owner_owned_store_ids"(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "shop"."product_owner_owned_store_ids"(bigint) TO "store_owner";

-- grant:shop.store:normal_account:SELECT(description,id,name)  (golden/all_templates.yaml:29)
GRANT SELECT ("description", "id", "name") ON TABLE "shop"."store" TO "normal_account";

-- grant:shop.store:super_admin:ALL  (golden/all_templates.yaml:29)
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."store" TO "super_admin";

-- grant:shop.store_id_seq:store_owner:SELECT, USAGE  (golden/all_templates.yaml:29)
GRANT SELECT, USAGE ON SEQUENCE "shop"."store_id_seq" TO "store_owner";

-- policy:app.customers:customers_tenant_delete  (golden/all_templates.yaml:4)
CREATE POLICY "customers_tenant_delete" ON "app"."customers"
    AS PERMISSIVE FOR DELETE TO "app_user"
    USING ("organisation_id" = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint));

-- policy:app.customers:customers_tenant_insert  (golden/all_templates.yaml:4)
CREATE POLICY "customers_tenant_insert" ON "app"."customers"
    AS PERMISSIVE FOR INSERT TO "app_user"
    WITH CHECK ("organisation_id" = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint));

-- policy:app.customers:customers_tenant_select  (golden/all_templates.yaml:4)
CREATE POLICY "customers_tenant_select" ON "app"."customers"
    AS PERMISSIVE FOR SELECT TO "app_user"
    USING ("organisation_id" = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint));

-- policy:app.customers:customers_tenant_update  (golden/all_templates.yaml:4)
CREATE POLICY "customers_tenant_update" ON "app"."customers"
    AS PERMISSIVE FOR UPDATE TO "app_user"
    USING ("organisation_id" = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint))
    WITH CHECK ("organisation_id" = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint));

-- policy:app.notes:notes_owner_delete  (golden/all_templates.yaml:9)
CREATE POLICY "notes_owner_delete" ON "app"."notes"
    AS PERMISSIVE FOR DELETE TO "app_user"
    USING ("owner_id" = (SELECT CASE WHEN starts_with(current_user::text, 'user:') AND substr(current_user::text, 6) ~ '^[0-9]{1,18}$' THEN substr(current_user::text, 6)::bigint END));

-- policy:app.notes:notes_owner_insert  (golden/all_templates.yaml:9)
CREATE POLICY "notes_owner_insert" ON "app"."notes"
    AS PERMISSIVE FOR INSERT TO "app_user"
    WITH CHECK ("owner_id" = (SELECT CASE WHEN starts_with(current_user::text, 'user:') AND substr(current_user::text, 6) ~ '^[0-9]{1,18}$' THEN substr(current_user::text, 6)::bigint END));

-- policy:app.notes:notes_owner_select  (golden/all_templates.yaml:9)
CREATE POLICY "notes_owner_select" ON "app"."notes"
    AS PERMISSIVE FOR SELECT TO "app_user"
    USING ("owner_id" = (SELECT CASE WHEN starts_with(current_user::text, 'user:') AND substr(current_user::text, 6) ~ '^[0-9]{1,18}$' THEN substr(current_user::text, 6)::bigint END));

-- policy:app.notes:notes_owner_update  (golden/all_templates.yaml:9)
CREATE POLICY "notes_owner_update" ON "app"."notes"
    AS PERMISSIVE FOR UPDATE TO "app_user"
    USING ("owner_id" = (SELECT CASE WHEN starts_with(current_user::text, 'user:') AND substr(current_user::text, 6) ~ '^[0-9]{1,18}$' THEN substr(current_user::text, 6)::bigint END))
    WITH CHECK ("owner_id" = (SELECT CASE WHEN starts_with(current_user::text, 'user:') AND substr(current_user::text, 6) ~ '^[0-9]{1,18}$' THEN substr(current_user::text, 6)::bigint END));

-- policy:cms.articles:articles_rbac_insert  (golden/all_templates.yaml:14)
CREATE POLICY "articles_rbac_insert" ON "cms"."articles"
    AS PERMISSIVE FOR INSERT TO "mister_nobody"
    WITH CHECK ((SELECT "cms"."articles_has_permission"('create_articles')));

-- policy:cms.articles:articles_rbac_select  (golden/all_templates.yaml:14)
CREATE POLICY "articles_rbac_select" ON "cms"."articles"
    AS PERMISSIVE FOR SELECT TO "mister_nobody"
    USING ((SELECT "cms"."articles_has_permission"('edit_articles'))
        OR ((SELECT "cms"."articles_has_permission"('read_articles')) AND "status" = 'published'));

-- policy:crm.customers:crm_customers_tenant_select  (golden/all_templates.yaml:37)
CREATE POLICY "crm_customers_tenant_select" ON "crm"."customers"
    AS PERMISSIVE FOR SELECT TO "app_user"
    USING ("organisation_id" = ANY ((SELECT "crm"."crm_customers_tenant_ids"(nullif(current_setting('app.user_id', true), '')::bigint))::bigint[]));

-- policy:shop.catalog:catalog_all_select  (golden/all_templates.yaml:55)
CREATE POLICY "catalog_all_select" ON "shop"."catalog"
    AS PERMISSIVE FOR SELECT TO "app_user"
    USING (true);

-- policy:shop.product:product_owner_owner_delete  (golden/all_templates.yaml:48)
CREATE POLICY "product_owner_owner_delete" ON "shop"."product"
    AS PERMISSIVE FOR DELETE TO "store_owner"
    USING ("store_id" = ANY ((SELECT "shop"."product_owner_owned_store_ids"(nullif(current_setting('app.user_id', true), '')::bigint))::bigint[]));

-- policy:shop.product:product_owner_owner_insert  (golden/all_templates.yaml:48)
CREATE POLICY "product_owner_owner_insert" ON "shop"."product"
    AS PERMISSIVE FOR INSERT TO "store_owner"
    WITH CHECK ("store_id" = ANY ((SELECT "shop"."product_owner_owned_store_ids"(nullif(current_setting('app.user_id', true), '')::bigint))::bigint[]));

-- policy:shop.product:product_owner_owner_select  (golden/all_templates.yaml:48)
CREATE POLICY "product_owner_owner_select" ON "shop"."product"
    AS PERMISSIVE FOR SELECT TO "store_owner"
    USING ("store_id" = ANY ((SELECT "shop"."product_owner_owned_store_ids"(nullif(current_setting('app.user_id', true), '')::bigint))::bigint[]));

-- policy:shop.product:product_owner_owner_update  (golden/all_templates.yaml:48)
CREATE POLICY "product_owner_owner_update" ON "shop"."product"
    AS PERMISSIVE FOR UPDATE TO "store_owner"
    USING ("store_id" = ANY ((SELECT "shop"."product_owner_owned_store_ids"(nullif(current_setting('app.user_id', true), '')::bigint))::bigint[]))
    WITH CHECK ("store_id" = ANY ((SELECT "shop"."product_owner_owned_store_ids"(nullif(current_setting('app.user_id', true), '')::bigint))::bigint[]));

-- policy:shop.store:store_admin_all  (golden/all_templates.yaml:29)
CREATE POLICY "store_admin_all" ON "shop"."store"
    AS PERMISSIVE FOR ALL TO "super_admin"
    USING (true)
    WITH CHECK (true);

-- policy:shop.store:store_definer_select  (golden/all_templates.yaml:48)
-- For the role running the migrations only: it owns the SECURITY DEFINER
-- helpers that read this table, and FORCE RLS applies to it (no superuser).
CREATE POLICY "store_definer_select" ON "shop"."store"
    AS PERMISSIVE FOR SELECT TO CURRENT_USER
    USING (true);

-- trigger:django.auth_user:auth_user_create_role  (golden/all_templates.yaml:24)
CREATE TRIGGER "auth_user_create_role" AFTER INSERT ON "django"."auth_user"
    FOR EACH ROW EXECUTE FUNCTION "django"."auth_user_create_role"();
DO $rlskit$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT "id" AS id FROM "django"."auth_user" LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'django:' || r.id) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', 'django:' || r.id);
        END IF;
        EXECUTE format('GRANT %I TO %I', 'django_users', 'django:' || r.id);
        EXECUTE format('GRANT %I TO %I', 'django:' || r.id, 'django');
    END LOOP;
END
$rlskit$;

-- trigger:django.auth_user:auth_user_drop_role  (golden/all_templates.yaml:24)
CREATE TRIGGER "auth_user_drop_role" AFTER DELETE ON "django"."auth_user"
    FOR EACH ROW EXECUTE FUNCTION "django"."auth_user_drop_role"();

-- index:app.customers:organisation_id  (golden/all_templates.yaml:4)
CREATE INDEX IF NOT EXISTS "customers_organisation_id_rls_idx" ON "app"."customers" ("organisation_id");

-- index:app.notes:owner_id  (golden/all_templates.yaml:9)
CREATE INDEX IF NOT EXISTS "notes_owner_id_rls_idx" ON "app"."notes" ("owner_id");

-- index:crm.customers:organisation_id  (golden/all_templates.yaml:37)
CREATE INDEX IF NOT EXISTS "customers_organisation_id_rls_idx" ON "crm"."customers" ("organisation_id");

-- index:shop.product:store_id  (golden/all_templates.yaml:48)
CREATE INDEX IF NOT EXISTS "product_store_id_rls_idx" ON "shop"."product" ("store_id");
