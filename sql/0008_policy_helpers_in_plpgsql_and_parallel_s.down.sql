-- Restore the previous rendering

-- restore function:auth.check_token(text)
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

-- restore function:auth.claim(text)
CREATE OR REPLACE FUNCTION "auth"."claim"(text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT "auth"."check_token"(nullif(current_setting('rlskit.identity', true), '')) ->> $1
$rlskit$;
REVOKE ALL ON FUNCTION "auth"."claim"(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "auth"."claim"(text) TO "app_user";

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

-- restore function:crm.customers_tenant_ids(integer)
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

-- restore function:crm.teams_has_permission(text)
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

-- restore function:shop.product_of_own_store_owned_store_ids(integer)
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
