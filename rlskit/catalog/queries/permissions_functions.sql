-- The functions and procedures one role may execute (has_function_privilege: directly,
-- through PUBLIC, or through a membership it inherits), how it got EXECUTE, and whether
-- the function runs as its owner (SECURITY DEFINER), and whether the role has USAGE on
-- its schema. Extension members are left out. Params: role (text), schemas (text[], empty: all).
SELECT n.nspname AS schema,
       quote_ident(n.nspname) || '.' || quote_ident(p.proname)
           || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
       p.prosecdef AS security_definer,
       pg_get_userbyid(p.proowner) AS owner,
       CASE WHEN EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                         WHERE a.privilege_type = 'EXECUTE'
                           AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %(role)s))
            THEN 'direct'
            WHEN EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                         WHERE a.privilege_type = 'EXECUTE' AND a.grantee = 0)
            THEN 'PUBLIC'
            ELSE 'inherited' END AS how,
       -- without USAGE on its schema the role cannot call it, whatever EXECUTE says
       has_schema_privilege(%(role)s, n.oid, 'USAGE') AS schema_usage
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
  AND has_function_privilege(%(role)s, p.oid, 'EXECUTE')
  AND (cardinality(%(schemas)s::text[]) = 0 OR n.nspname = ANY (%(schemas)s::text[]))
ORDER BY 2
