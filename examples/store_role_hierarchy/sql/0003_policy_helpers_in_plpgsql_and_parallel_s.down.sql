-- Restore the previous rendering

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
