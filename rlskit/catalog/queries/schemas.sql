-- Schemas with owner and privileges.
SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner,
       ARRAY(SELECT x::text FROM unnest(coalesce(n.nspacl, acldefault('n', n.nspowner))) AS x ORDER BY 1) AS acl
FROM pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
ORDER BY 1
