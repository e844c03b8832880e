-- Policy changes rendered by rlskit from policies/*.yaml

-- create schema:auth (policies/005_signed.yaml:9)
CREATE SCHEMA IF NOT EXISTS "auth";
GRANT USAGE ON SCHEMA "auth" TO "app_user";

-- create extension:pgcrypto:auth (policies/005_signed.yaml:9)
CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA "auth";

-- create table:auth.signing_keys (policies/005_signed.yaml:9)
CREATE TABLE "auth"."signing_keys" (
    id integer PRIMARY KEY,
    secret bytea NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON TABLE "auth"."signing_keys" FROM PUBLIC;
-- The secret is inserted by the database owner, out of band:
--   INSERT INTO "auth"."signing_keys" (id, secret) VALUES (1, decode('<64 hex chars>', 'hex'));

-- create rls:app.documents (policies/005_signed.yaml:13)
ALTER TABLE "app"."documents" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "app"."documents" FORCE ROW LEVEL SECURITY;

-- create function:auth.check_token(text) (policies/005_signed.yaml:9)
CREATE OR REPLACE FUNCTION "auth"."check_token"(text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT CASE WHEN k.secret IS NOT NULL
            AND encode("auth".hmac(convert_to(split_part($1, '.', 1), 'UTF8'), k.secret, 'sha256'), 'hex')
                = split_part($1, '.', 2)
            AND (c.claims ->> 'exp')::bigint > extract(epoch FROM now())
       THEN c.claims -> 'c' END
FROM (SELECT secret FROM "auth"."signing_keys" ORDER BY id DESC LIMIT 1) AS k,
     LATERAL (SELECT convert_from(decode(translate(split_part($1, '.', 1), '-_', '+/')
              || repeat('=', (4 - length(split_part($1, '.', 1)) % 4) % 4), 'base64'),
              'UTF8')::jsonb AS claims) AS c
WHERE $1 ~ '^[A-Za-z0-9_-]+\.[0-9a-f]{64}$'
$rlskit$;
REVOKE ALL ON FUNCTION "auth"."check_token"(text) FROM PUBLIC;

-- create function:auth.claim(text) (policies/005_signed.yaml:9)
CREATE OR REPLACE FUNCTION "auth"."claim"(text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT "auth"."check_token"(nullif(current_setting('rlskit.identity', true), '')) ->> $1
$rlskit$;
REVOKE ALL ON FUNCTION "auth"."claim"(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "auth"."claim"(text) TO "app_user";

-- create policy:app.documents:documents_owner_delete (policies/005_signed.yaml:13)
CREATE POLICY "documents_owner_delete" ON "app"."documents"
    AS PERMISSIVE FOR DELETE TO "app_user"
    USING ("owner_id" = (SELECT "auth"."claim"('user_id')::bigint));

-- create policy:app.documents:documents_owner_insert (policies/005_signed.yaml:13)
CREATE POLICY "documents_owner_insert" ON "app"."documents"
    AS PERMISSIVE FOR INSERT TO "app_user"
    WITH CHECK ("owner_id" = (SELECT "auth"."claim"('user_id')::bigint));

-- create policy:app.documents:documents_owner_select (policies/005_signed.yaml:13)
CREATE POLICY "documents_owner_select" ON "app"."documents"
    AS PERMISSIVE FOR SELECT TO "app_user"
    USING ("owner_id" = (SELECT "auth"."claim"('user_id')::bigint));

-- create policy:app.documents:documents_owner_update (policies/005_signed.yaml:13)
CREATE POLICY "documents_owner_update" ON "app"."documents"
    AS PERMISSIVE FOR UPDATE TO "app_user"
    USING ("owner_id" = (SELECT "auth"."claim"('user_id')::bigint))
    WITH CHECK ("owner_id" = (SELECT "auth"."claim"('user_id')::bigint));

-- create index:app.documents:owner_id (policies/005_signed.yaml:13)
CREATE INDEX IF NOT EXISTS "documents_owner_id_rls_idx" ON "app"."documents" ("owner_id");
