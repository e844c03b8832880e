-- Policy changes rendered by rlskit from policies/*.yaml

-- replace function:shop.product_of_own_store_owned_store_ids(integer) (policies/003_shop.yaml:61)
CREATE OR REPLACE FUNCTION "shop"."product_of_own_store_owned_store_ids"(integer) RETURNS integer[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
BEGIN
    RETURN (SELECT coalesce(array_agg(p."id"), '{}')::integer[]
            FROM "shop"."store" AS p
            WHERE p."owner_id" = $1);
END
$rlskit$;
REVOKE ALL ON FUNCTION "shop"."product_of_own_store_owned_store_ids"(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "shop"."product_of_own_store_owned_store_ids"(integer) TO "store_owner";
