-- Policy changes rendered by rlskit from policies/*.yaml

-- replace function:auth.check_token(text) (policies/005_signed.yaml:9)
CREATE OR REPLACE FUNCTION "auth"."check_token"(text) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT CASE WHEN k.secret IS NOT NULL
            AND encode("auth".hmac(convert_to(split_part($1, '.', 1), 'UTF8'), k.secret, 'sha256'), 'hex')
                = split_part($1, '.', 2)
            AND (c.claims ->> 'exp')::bigint > extract(epoch FROM clock_timestamp())
       THEN c.claims -> 'c' END
FROM (SELECT secret FROM "auth"."signing_keys" ORDER BY id DESC LIMIT 1) AS k,
     LATERAL (SELECT convert_from(decode(translate(split_part($1, '.', 1), '-_', '+/')
              || repeat('=', (4 - length(split_part($1, '.', 1)) % 4) % 4), 'base64'),
              'UTF8')::jsonb AS claims) AS c
WHERE $1 ~ '^[A-Za-z0-9_-]+\.[0-9a-f]{64}$'
$rlskit$;
REVOKE ALL ON FUNCTION "auth"."check_token"(text) FROM PUBLIC;
