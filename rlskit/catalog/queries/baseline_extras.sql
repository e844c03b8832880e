-- What pg_dump --schema leaves out but a baseline must carry or name, as
-- (kind, schema, name, detail, value, function_schema) rows. Params: schemas (text[]).
--   extension        every extension but plpgsql: name, its schema
--   db setting       ALTER DATABASE ... SET on the current database: name, value
--   role setting     ALTER ROLE ... SET (not carried: named in a note)
--   publication      publications with tables in the schemas: name, table, operations
--   foreign trigger  triggers on tables outside the schemas (function_schema: its function's)
--   foreign policy   policies on tables outside the schemas
--   foreign rls      RLS flags of tables outside the schemas
--   database acl     GRANT/REVOKE ... ON DATABASE beyond the built-in default
--   role comment     COMMENT ON ROLE
--   secdef           SECURITY DEFINER routines owned by the reading role
SELECT 'extension' AS kind, n.nspname AS schema, e.extname AS name, '' AS detail, '' AS value,
       '' AS function_schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'
UNION ALL
SELECT 'db setting', '', split_part(c, '=', 1), '', substr(c, strpos(c, '=') + 1), ''
FROM pg_db_role_setting s, unnest(s.setconfig) c
WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.setrole = 0
UNION ALL
SELECT 'role setting', '', pg_get_userbyid(s.setrole), '', c, ''
FROM pg_db_role_setting s, unnest(s.setconfig) c
WHERE s.setrole <> 0
UNION ALL
SELECT 'publication', n.nspname, p.pubname, c.relname,
       concat_ws(',', CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                 CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END)
       || CASE WHEN pr.prqual IS NOT NULL OR pr.prattrs IS NOT NULL THEN ' filtered' ELSE '' END, ''
FROM pg_publication p
JOIN pg_publication_rel pr ON pr.prpubid = p.oid
JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
UNION ALL
SELECT 'publication', n.nspname, p.pubname, '', 'schema', ''
FROM pg_publication p JOIN pg_publication_namespace pn ON pn.pnpubid = p.oid
JOIN pg_namespace n ON n.oid = pn.pnnspid
WHERE n.nspname = ANY (%(schemas)s::text[])
UNION ALL
SELECT 'publication', '', p.pubname, '', 'all tables', '' FROM pg_publication p WHERE p.puballtables
UNION ALL
SELECT 'foreign trigger', n.nspname, t.tgname, c.relname, pg_get_triggerdef(t.oid) || ';', fn.nspname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace fn ON fn.oid = p.pronamespace
WHERE NOT t.tgisinternal AND NOT n.nspname = ANY (%(schemas)s::text[])
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
UNION ALL
SELECT 'foreign policy', n.nspname, pol.polname, c.relname, '', ''
FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT n.nspname = ANY (%(schemas)s::text[])
UNION ALL
SELECT 'foreign rls', n.nspname, c.relname,
       CASE WHEN c.relrowsecurity THEN 'ENABLE' ELSE 'DISABLE' END,
       CASE WHEN c.relforcerowsecurity THEN 'FORCE' ELSE 'NO FORCE' END, ''
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT n.nspname = ANY (%(schemas)s::text[])
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
UNION ALL
SELECT 'database acl', '', CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
       x.privilege_type, CASE WHEN x.granted THEN 'GRANT' ELSE 'REVOKE' END, ''
FROM (
    SELECT a.grantee, a.privilege_type, true AS granted
    FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
    WHERE d.datname = current_database() AND a.grantee <> d.datdba
      AND (a.grantee, a.privilege_type) NOT IN (
          SELECT b.grantee, b.privilege_type FROM aclexplode(acldefault('d', d.datdba)) b)
    UNION ALL
    SELECT b.grantee, b.privilege_type, false
    FROM pg_database d, aclexplode(acldefault('d', d.datdba)) b
    WHERE d.datname = current_database() AND b.grantee <> d.datdba
      AND (b.grantee, b.privilege_type) NOT IN (
          SELECT a.grantee, a.privilege_type
          FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a)
) x
UNION ALL
SELECT 'role comment', '', r.rolname, '', shobj_description(r.oid, 'pg_authid'), ''
FROM pg_roles r WHERE shobj_description(r.oid, 'pg_authid') IS NOT NULL
UNION ALL
SELECT 'secdef', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), '', ''
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prosecdef AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
  AND n.nspname = ANY (%(schemas)s::text[])
ORDER BY 1, 2, 3, 4, 5
