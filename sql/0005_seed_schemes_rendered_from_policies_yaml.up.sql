-- Policy changes rendered by rlskit from policies/*.yaml

-- create role:normal_account (policies/003_shop.yaml:13)
CREATE ROLE "normal_account" NOLOGIN;

-- create role:store_owner (policies/003_shop.yaml:13)
CREATE ROLE "store_owner" NOLOGIN;

-- create role:super_admin (policies/003_shop.yaml:13)
CREATE ROLE "super_admin" NOLOGIN;

-- create membership:normal_account>store_owner (policies/003_shop.yaml:13)
GRANT "normal_account" TO "store_owner";

-- create membership:store_owner>super_admin (policies/003_shop.yaml:13)
GRANT "store_owner" TO "super_admin";

-- create rls:cms.articles (policies/001_cms.yaml:15)
ALTER TABLE "cms"."articles" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "cms"."articles" FORCE ROW LEVEL SECURITY;

-- create rls:crm.customers (policies/004_crm.yaml:14)
ALTER TABLE "crm"."customers" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "crm"."customers" FORCE ROW LEVEL SECURITY;

-- create rls:crm.teams (policies/004_crm.yaml:25)
ALTER TABLE "crm"."teams" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "crm"."teams" FORCE ROW LEVEL SECURITY;

-- create rls:django.auth_user (policies/000_django.yaml:16)
ALTER TABLE "django"."auth_user" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "django"."auth_user" FORCE ROW LEVEL SECURITY;

-- create rls:sales.clients (policies/002_sales.yaml:15)
ALTER TABLE "sales"."clients" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "sales"."clients" FORCE ROW LEVEL SECURITY;

-- create rls:shop.account (policies/003_shop.yaml:13)
ALTER TABLE "shop"."account" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shop"."account" FORCE ROW LEVEL SECURITY;

-- create rls:shop.product (policies/003_shop.yaml:13)
ALTER TABLE "shop"."product" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shop"."product" FORCE ROW LEVEL SECURITY;

-- create rls:shop.store (policies/003_shop.yaml:13)
ALTER TABLE "shop"."store" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shop"."store" FORCE ROW LEVEL SECURITY;

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

-- create function:django.auth_user_create_role() (policies/000_django.yaml:10)
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

-- create function:django.auth_user_drop_role() (policies/000_django.yaml:10)
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

-- create function:sales.salespeople_create_role() (policies/002_sales.yaml:9)
CREATE OR REPLACE FUNCTION "sales"."salespeople_create_role"() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
DECLARE
    role_name text := 'salesperson:' || NEW."id";
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
    END IF;
    EXECUTE format('GRANT %I TO %I', 'salespeople', role_name);
    EXECUTE format('GRANT %I TO %I', role_name, 'sales_app');
    RETURN NULL;
END
$rlskit$;
REVOKE ALL ON FUNCTION "sales"."salespeople_create_role"() FROM PUBLIC;

-- create function:sales.salespeople_drop_role() (policies/002_sales.yaml:9)
CREATE OR REPLACE FUNCTION "sales"."salespeople_drop_role"() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
BEGIN
    EXECUTE format('DROP ROLE IF EXISTS %I', 'salesperson:' || OLD."id");
    RETURN NULL;
END
$rlskit$;
REVOKE ALL ON FUNCTION "sales"."salespeople_drop_role"() FROM PUBLIC;

-- create function:shop.product_of_own_store_owned_store_ids(integer) (policies/003_shop.yaml:61)
CREATE OR REPLACE FUNCTION "shop"."product_of_own_store_owned_store_ids"(integer) RETURNS integer[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT coalesce(array_agg(p."id"), '{}')::integer[]
FROM "shop"."store" AS p
WHERE p."owner_id" = $1
$rlskit$;
REVOKE ALL ON FUNCTION "shop"."product_of_own_store_owned_store_ids"(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "shop"."product_of_own_store_owned_store_ids"(integer) TO "store_owner";

-- create grant:schema shop:normal_account:USAGE (policies/003_shop.yaml:13)
GRANT USAGE ON SCHEMA "shop" TO "normal_account";

-- create grant:shop.account:normal_account:SELECT (policies/003_shop.yaml:13)
GRANT SELECT ON TABLE "shop"."account" TO "normal_account";

-- create grant:shop.account:normal_account:UPDATE(password,phone_number,username) (policies/003_shop.yaml:13)
GRANT UPDATE ("password", "phone_number", "username") ON TABLE "shop"."account" TO "normal_account";

-- create grant:shop.account:super_admin:ALL (policies/003_shop.yaml:13)
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."account" TO "super_admin";

-- create grant:shop.account_id_seq:super_admin:ALL (policies/003_shop.yaml:13)
GRANT USAGE, SELECT, UPDATE ON SEQUENCE "shop"."account_id_seq" TO "super_admin";

-- create grant:shop.product:normal_account:SELECT (policies/003_shop.yaml:13)
GRANT SELECT ON TABLE "shop"."product" TO "normal_account";

-- create grant:shop.product:store_owner:DELETE, INSERT (policies/003_shop.yaml:13)
GRANT DELETE, INSERT ON TABLE "shop"."product" TO "store_owner";

-- create grant:shop.product:store_owner:UPDATE(description,name,stock) (policies/003_shop.yaml:13)
GRANT UPDATE ("description", "name", "stock") ON TABLE "shop"."product" TO "store_owner";

-- create grant:shop.product:super_admin:ALL (policies/003_shop.yaml:13)
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."product" TO "super_admin";

-- create grant:shop.product_id_seq:store_owner:SELECT, USAGE (policies/003_shop.yaml:13)
GRANT SELECT, USAGE ON SEQUENCE "shop"."product_id_seq" TO "store_owner";

-- create grant:shop.product_id_seq:super_admin:ALL (policies/003_shop.yaml:13)
GRANT USAGE, SELECT, UPDATE ON SEQUENCE "shop"."product_id_seq" TO "super_admin";

-- create grant:shop.store:normal_account:SELECT(description,id,name) (policies/003_shop.yaml:13)
GRANT SELECT ("description", "id", "name") ON TABLE "shop"."store" TO "normal_account";

-- create grant:shop.store:store_owner:SELECT(owner_id,rank) (policies/003_shop.yaml:13)
GRANT SELECT ("owner_id", "rank") ON TABLE "shop"."store" TO "store_owner";

-- create grant:shop.store:store_owner:UPDATE(description,name) (policies/003_shop.yaml:13)
GRANT UPDATE ("description", "name") ON TABLE "shop"."store" TO "store_owner";

-- create grant:shop.store:super_admin:ALL (policies/003_shop.yaml:13)
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "shop"."store" TO "super_admin";

-- create grant:shop.store_id_seq:super_admin:ALL (policies/003_shop.yaml:13)
GRANT USAGE, SELECT, UPDATE ON SEQUENCE "shop"."store_id_seq" TO "super_admin";

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

-- create policy:django.auth_user:auth_user_self_owner_select (policies/000_django.yaml:16)
CREATE POLICY "auth_user_self_owner_select" ON "django"."auth_user"
    AS PERMISSIVE FOR SELECT TO "django_users"
    USING ("id" = (SELECT CASE WHEN starts_with(current_user::text, 'django:') AND substr(current_user::text, 8) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 8)::integer END));

-- create policy:django.auth_user:auth_user_self_owner_update (policies/000_django.yaml:16)
CREATE POLICY "auth_user_self_owner_update" ON "django"."auth_user"
    AS PERMISSIVE FOR UPDATE TO "django_users"
    USING ("id" = (SELECT CASE WHEN starts_with(current_user::text, 'django:') AND substr(current_user::text, 8) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 8)::integer END))
    WITH CHECK ("id" = (SELECT CASE WHEN starts_with(current_user::text, 'django:') AND substr(current_user::text, 8) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 8)::integer END));

-- create policy:sales.clients:clients_owner_insert (policies/002_sales.yaml:15)
CREATE POLICY "clients_owner_insert" ON "sales"."clients"
    AS PERMISSIVE FOR INSERT TO "salespeople"
    WITH CHECK ("salesperson_id" = (SELECT CASE WHEN starts_with(current_user::text, 'salesperson:') AND substr(current_user::text, 13) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 13)::integer END));

-- create policy:sales.clients:clients_owner_select (policies/002_sales.yaml:15)
CREATE POLICY "clients_owner_select" ON "sales"."clients"
    AS PERMISSIVE FOR SELECT TO "salespeople"
    USING ("salesperson_id" = (SELECT CASE WHEN starts_with(current_user::text, 'salesperson:') AND substr(current_user::text, 13) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 13)::integer END));

-- create policy:shop.account:account_admin_all (policies/003_shop.yaml:13)
CREATE POLICY "account_admin_all" ON "shop"."account"
    AS PERMISSIVE FOR ALL TO "super_admin"
    USING (true)
    WITH CHECK (true);

-- create policy:shop.account:account_owner_select (policies/003_shop.yaml:34)
CREATE POLICY "account_owner_select" ON "shop"."account"
    AS PERMISSIVE FOR SELECT TO "normal_account"
    USING ("id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer));

-- create policy:shop.account:account_owner_update (policies/003_shop.yaml:34)
CREATE POLICY "account_owner_update" ON "shop"."account"
    AS PERMISSIVE FOR UPDATE TO "normal_account"
    USING ("id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer))
    WITH CHECK ("id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer));

-- create policy:shop.product:product_admin_all (policies/003_shop.yaml:13)
CREATE POLICY "product_admin_all" ON "shop"."product"
    AS PERMISSIVE FOR ALL TO "super_admin"
    USING (true)
    WITH CHECK (true);

-- create policy:shop.product:product_catalog_all_select (policies/003_shop.yaml:55)
CREATE POLICY "product_catalog_all_select" ON "shop"."product"
    AS PERMISSIVE FOR SELECT TO "normal_account"
    USING (true);

-- create policy:shop.product:product_of_own_store_owner_delete (policies/003_shop.yaml:61)
CREATE POLICY "product_of_own_store_owner_delete" ON "shop"."product"
    AS PERMISSIVE FOR DELETE TO "store_owner"
    USING ("store_id" = ANY ((SELECT "shop"."product_of_own_store_owned_store_ids"(nullif(current_setting('auth.current_account_id', true), '')::integer))::integer[]));

-- create policy:shop.product:product_of_own_store_owner_insert (policies/003_shop.yaml:61)
CREATE POLICY "product_of_own_store_owner_insert" ON "shop"."product"
    AS PERMISSIVE FOR INSERT TO "store_owner"
    WITH CHECK ("store_id" = ANY ((SELECT "shop"."product_of_own_store_owned_store_ids"(nullif(current_setting('auth.current_account_id', true), '')::integer))::integer[]));

-- create policy:shop.product:product_of_own_store_owner_update (policies/003_shop.yaml:61)
CREATE POLICY "product_of_own_store_owner_update" ON "shop"."product"
    AS PERMISSIVE FOR UPDATE TO "store_owner"
    USING ("store_id" = ANY ((SELECT "shop"."product_of_own_store_owned_store_ids"(nullif(current_setting('auth.current_account_id', true), '')::integer))::integer[]))
    WITH CHECK ("store_id" = ANY ((SELECT "shop"."product_of_own_store_owned_store_ids"(nullif(current_setting('auth.current_account_id', true), '')::integer))::integer[]));

-- create policy:shop.store:store_admin_all (policies/003_shop.yaml:13)
CREATE POLICY "store_admin_all" ON "shop"."store"
    AS PERMISSIVE FOR ALL TO "super_admin"
    USING (true)
    WITH CHECK (true);

-- create policy:shop.store:store_catalog_all_select (policies/003_shop.yaml:42)
CREATE POLICY "store_catalog_all_select" ON "shop"."store"
    AS PERMISSIVE FOR SELECT TO "normal_account"
    USING (true);

-- create policy:shop.store:store_owner_update (policies/003_shop.yaml:48)
CREATE POLICY "store_owner_update" ON "shop"."store"
    AS PERMISSIVE FOR UPDATE TO "store_owner"
    USING ("owner_id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer))
    WITH CHECK ("owner_id" = (SELECT nullif(current_setting('auth.current_account_id', true), '')::integer));

-- create trigger:django.auth_user:auth_user_create_role (policies/000_django.yaml:10)
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

-- create trigger:django.auth_user:auth_user_drop_role (policies/000_django.yaml:10)
CREATE TRIGGER "auth_user_drop_role" AFTER DELETE ON "django"."auth_user"
    FOR EACH ROW EXECUTE FUNCTION "django"."auth_user_drop_role"();

-- create trigger:sales.salespeople:salespeople_create_role (policies/002_sales.yaml:9)
CREATE TRIGGER "salespeople_create_role" AFTER INSERT ON "sales"."salespeople"
    FOR EACH ROW EXECUTE FUNCTION "sales"."salespeople_create_role"();
DO $rlskit$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT "id" AS id FROM "sales"."salespeople" LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'salesperson:' || r.id) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', 'salesperson:' || r.id);
        END IF;
        EXECUTE format('GRANT %I TO %I', 'salespeople', 'salesperson:' || r.id);
        EXECUTE format('GRANT %I TO %I', 'salesperson:' || r.id, 'sales_app');
    END LOOP;
END
$rlskit$;

-- create trigger:sales.salespeople:salespeople_drop_role (policies/002_sales.yaml:9)
CREATE TRIGGER "salespeople_drop_role" AFTER DELETE ON "sales"."salespeople"
    FOR EACH ROW EXECUTE FUNCTION "sales"."salespeople_drop_role"();

-- create index:crm.customers:organisation_id (policies/004_crm.yaml:14)
CREATE INDEX IF NOT EXISTS "customers_organisation_id_rls_idx" ON "crm"."customers" ("organisation_id");

-- create index:sales.clients:salesperson_id (policies/002_sales.yaml:15)
CREATE INDEX IF NOT EXISTS "clients_salesperson_id_rls_idx" ON "sales"."clients" ("salesperson_id");

-- create index:shop.product:store_id (policies/003_shop.yaml:61)
CREATE INDEX IF NOT EXISTS "product_store_id_rls_idx" ON "shop"."product" ("store_id");

-- create index:shop.store:owner_id (policies/003_shop.yaml:48)
CREATE INDEX IF NOT EXISTS "store_owner_id_rls_idx" ON "shop"."store" ("owner_id");

-- create custom:auth_user_superuser (policies/000_django.yaml:25)
CREATE OR REPLACE FUNCTION "django"."auth_user_superuser_is_superuser"(user_id integer) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT coalesce((SELECT u."is_superuser" FROM "django"."auth_user" AS u
                 WHERE u."id" = $1), false)
$rlskit$;
REVOKE ALL ON FUNCTION "django"."auth_user_superuser_is_superuser"(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "django"."auth_user_superuser_is_superuser"(integer) TO "django_users";
CREATE POLICY "auth_user_superuser" ON "django"."auth_user"
    AS PERMISSIVE FOR SELECT TO "django_users"
    USING ((SELECT "django"."auth_user_superuser_is_superuser"(
        CASE WHEN starts_with(current_user::text, 'django:')
             THEN substr(current_user::text, 8)::integer END)));
