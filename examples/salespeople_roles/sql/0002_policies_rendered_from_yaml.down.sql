-- Restore the previous rendering

-- drop index:sales.clients:salesperson_id
DROP INDEX IF EXISTS "sales"."clients_salesperson_id_rls_idx";

-- drop trigger:sales.salespeople:salespeople_drop_role
DROP TRIGGER IF EXISTS "salespeople_drop_role" ON "sales"."salespeople";

-- drop trigger:sales.salespeople:salespeople_create_role
DROP TRIGGER IF EXISTS "salespeople_create_role" ON "sales"."salespeople";

-- drop policy:sales.clients:clients_owner_select
DROP POLICY IF EXISTS "clients_owner_select" ON "sales"."clients";

-- drop policy:sales.clients:clients_owner_insert
DROP POLICY IF EXISTS "clients_owner_insert" ON "sales"."clients";

-- drop function:sales.salespeople_drop_role()
DROP FUNCTION IF EXISTS "sales"."salespeople_drop_role"();

-- drop function:sales.salespeople_create_role()
DROP FUNCTION IF EXISTS "sales"."salespeople_create_role"();

-- drop rls:sales.clients
ALTER TABLE "sales"."clients" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "sales"."clients" DISABLE ROW LEVEL SECURITY;
