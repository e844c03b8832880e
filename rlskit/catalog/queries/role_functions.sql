-- The functions and procedures one role may EXECUTE (directly, through a
-- membership, or through PUBLIC) and call (USAGE on their schema), outside the
-- system schemas and extensions.
-- Params: role (text).
SELECT n.nspname AS schema, p.proname AS name,
       pg_get_function_identity_arguments(p.oid) AS arguments,
       p.prosecdef AS security_definer
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  AND has_function_privilege(%(role)s, p.oid, 'EXECUTE')
  AND has_schema_privilege(%(role)s, n.oid, 'USAGE')
ORDER BY 1, 2, 3
