-- Restore the previous rendering

-- drop index:app.documents:owner_id
DROP INDEX IF EXISTS "app"."documents_owner_id_rls_idx";

-- drop policy:app.documents:documents_owner_update
DROP POLICY IF EXISTS "documents_owner_update" ON "app"."documents";

-- drop policy:app.documents:documents_owner_select
DROP POLICY IF EXISTS "documents_owner_select" ON "app"."documents";

-- drop policy:app.documents:documents_owner_insert
DROP POLICY IF EXISTS "documents_owner_insert" ON "app"."documents";

-- drop policy:app.documents:documents_owner_delete
DROP POLICY IF EXISTS "documents_owner_delete" ON "app"."documents";

-- drop function:auth.claim(text)
DROP FUNCTION IF EXISTS "auth"."claim"(text);

-- drop function:auth.check_token(text)
DROP FUNCTION IF EXISTS "auth"."check_token"(text);

-- drop rls:app.documents
ALTER TABLE "app"."documents" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "app"."documents" DISABLE ROW LEVEL SECURITY;

-- drop table:auth.signing_keys
DROP TABLE "auth"."signing_keys";

-- drop extension:pgcrypto:auth
DROP EXTENSION IF EXISTS pgcrypto;

-- drop schema:auth
DROP SCHEMA IF EXISTS "auth";
