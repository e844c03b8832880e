-- Policy changes rendered by rlskit from policies/*.yaml

-- create rls:sales.clients (policies/002_sales.yaml:15)
ALTER TABLE "sales"."clients" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "sales"."clients" FORCE ROW LEVEL SECURITY;

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

-- create policy:sales.clients:clients_owner_insert (policies/002_sales.yaml:15)
CREATE POLICY "clients_owner_insert" ON "sales"."clients"
    AS PERMISSIVE FOR INSERT TO "salespeople"
    WITH CHECK ("salesperson_id" = (SELECT CASE WHEN starts_with(current_user::text, 'salesperson:') AND substr(current_user::text, 13) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 13)::integer END));

-- create policy:sales.clients:clients_owner_select (policies/002_sales.yaml:15)
CREATE POLICY "clients_owner_select" ON "sales"."clients"
    AS PERMISSIVE FOR SELECT TO "salespeople"
    USING ("salesperson_id" = (SELECT CASE WHEN starts_with(current_user::text, 'salesperson:') AND substr(current_user::text, 13) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 13)::integer END));

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

-- create index:sales.clients:salesperson_id (policies/002_sales.yaml:15)
CREATE INDEX IF NOT EXISTS "clients_salesperson_id_rls_idx" ON "sales"."clients" ("salesperson_id");
