-- A database's authorization state as (kind, object, value) text rows, for
-- baseline's self-check. Deliberately independent of the drift snapshot: it
-- reads whole catalogs, and the role running it shows as '<migrator>' (the
-- objects it owns on the source are owned by the migrating role on a rebuild).
-- Params: roles (text[]): the roles whose attributes and memberships count.
-- Each row also names its schema (nsp, NULL: database-wide) and the object whose
-- presence on both sides makes the row comparable outside the adopted schemas (rel).
WITH me AS (SELECT oid FROM pg_roles WHERE rolname = current_user),
nm AS (
    SELECT 0::oid AS oid, 'PUBLIC' AS name
    UNION ALL
    SELECT r.oid, CASE WHEN r.oid = (SELECT oid FROM me) THEN '<migrator>' ELSE r.rolname END
    FROM pg_roles r
),
ext AS (SELECT objid FROM pg_depend WHERE deptype = 'e'),
objects AS (  -- (identity, owner, effective acl) of every non-system object
    SELECT 'schema ' || quote_ident(n.nspname) AS object, n.nspowner AS owner,
           coalesce(n.nspacl, acldefault('n', n.nspowner)) AS acl, n.nspname AS nsp,
           'schema ' || quote_ident(n.nspname) AS rel
    FROM pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
      AND n.oid NOT IN (SELECT objid FROM ext)
    UNION ALL
    SELECT 'relation ' || c.oid::regclass::text, c.relowner,
           coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)),
           n.nspname, c.oid::regclass::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
      AND c.oid NOT IN (SELECT objid FROM ext)
    UNION ALL
    SELECT 'column ' || c.oid::regclass::text || '.' || quote_ident(a.attname), c.relowner, a.attacl,
           n.nspname, c.oid::regclass::text
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE a.attacl IS NOT NULL AND NOT a.attisdropped
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
    UNION ALL
    SELECT 'routine ' || p.oid::regprocedure::text, p.proowner, coalesce(p.proacl, acldefault('f', p.proowner)),
           n.nspname, 'routine ' || p.oid::regprocedure::text
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
      AND p.oid NOT IN (SELECT objid FROM ext)
    UNION ALL
    SELECT 'type ' || t.oid::regtype::text, t.typowner, coalesce(t.typacl, acldefault('T', t.typowner)),
           n.nspname, 'type ' || t.oid::regtype::text
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype IN ('d', 'e', 'r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_' AND t.oid NOT IN (SELECT objid FROM ext)
    UNION ALL
    SELECT 'database', d.datdba, coalesce(d.datacl, acldefault('d', d.datdba)), NULL, 'database'
    FROM pg_database d WHERE d.datname = current_database()
)
SELECT 'owner' AS kind, o.object, (SELECT name FROM nm WHERE nm.oid = o.owner) AS value,
       o.nsp, o.rel
FROM objects o WHERE o.object <> 'database'
UNION ALL
SELECT 'privilege', o.object,
       (SELECT name FROM nm WHERE nm.oid = a.grantee) || ' ' || a.privilege_type
       || CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END, o.nsp, o.rel
FROM objects o, aclexplode(o.acl) a
UNION ALL
SELECT 'role', r.rolname,
       concat_ws(' ', CASE WHEN r.rolsuper THEN 'superuser' END, CASE WHEN r.rolinherit THEN 'inherit' END,
                 CASE WHEN r.rolcreaterole THEN 'createrole' END, CASE WHEN r.rolcreatedb THEN 'createdb' END,
                 CASE WHEN r.rolcanlogin THEN 'login' END, CASE WHEN r.rolreplication THEN 'replication' END,
                 CASE WHEN r.rolbypassrls THEN 'bypassrls' END, 'connlimit=' || r.rolconnlimit,
                 'config=' || coalesce(r.rolconfig::text, '{}'),
                 'comment=' || coalesce(shobj_description(r.oid, 'pg_authid'), '')), NULL, NULL
FROM pg_roles r WHERE r.rolname = ANY (%(roles)s::text[])
UNION ALL
SELECT 'membership', (SELECT name FROM nm WHERE nm.oid = m.member) || ' in ' || (SELECT name FROM nm WHERE nm.oid = m.roleid),
       concat_ws(' ', CASE WHEN m.admin_option THEN 'admin' END, CASE WHEN m.inherit_option THEN 'inherit' END,
                 CASE WHEN m.set_option THEN 'set' END), NULL, NULL
FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles mm ON mm.oid = m.member
WHERE (r.rolname = ANY (%(roles)s::text[]) OR mm.rolname = ANY (%(roles)s::text[]))
  -- not the implicit ADMIN membership PostgreSQL 16+ gives a CREATEROLE creator
  AND NOT (m.member = (SELECT oid FROM me) AND m.grantor = 10 AND m.admin_option
           AND NOT mm.rolsuper)
UNION ALL
SELECT 'default privileges',
       (SELECT name FROM nm WHERE nm.oid = d.defaclrole) || ' in ' || coalesce(n.nspname, '(all schemas)')
       || ' on ' || d.defaclobjtype::text,
       (SELECT name FROM nm WHERE nm.oid = a.grantee) || ' ' || a.privilege_type
       || CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END,
       n.nspname, 'schema ' || quote_ident(n.nspname)
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
UNION ALL
SELECT 'extension', e.extname, n.nspname || ' ' || e.extversion,
       n.nspname, 'schema ' || quote_ident(n.nspname)
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
UNION ALL
SELECT 'trigger', t.tgrelid::regclass::text || ' ' || quote_ident(t.tgname),
       pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text,
       n.nspname, t.tgrelid::regclass::text
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal
UNION ALL
SELECT 'policy', pol.polrelid::regclass::text || ' ' || quote_ident(pol.polname),
       concat_ws(' ', pol.polcmd::text, CASE WHEN pol.polpermissive THEN 'permissive' ELSE 'restrictive' END,
                 'to', (SELECT string_agg(x.name, ',' ORDER BY x.name) FROM (SELECT (SELECT name FROM nm WHERE nm.oid = r) AS name
                        FROM unnest(pol.polroles) r) x),
                 'using', coalesce(pg_get_expr(pol.polqual, pol.polrelid), '-'),
                 'check', coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '-')),
       n.nspname, pol.polrelid::regclass::text
FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'row security', c.oid::regclass::text,
       concat_ws(' ', CASE WHEN c.relrowsecurity THEN 'enabled' ELSE 'disabled' END,
                 CASE WHEN c.relforcerowsecurity THEN 'forced' END), n.nspname, c.oid::regclass::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_'
UNION ALL
SELECT 'routine security', p.oid::regprocedure::text,
       CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END || ' ' || coalesce(p.proconfig::text, '{}'),
       n.nspname, 'routine ' || p.oid::regprocedure::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
UNION ALL
SELECT 'view options', c.oid::regclass::text, coalesce(c.reloptions::text, '{}'),
       n.nspname, c.oid::regclass::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_'
UNION ALL
SELECT 'comment', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description,
       coalesce(io.schema, CASE WHEN io.type = 'schema' THEN io.name END),
       'schema ' || quote_ident(coalesce(io.schema, CASE WHEN io.type = 'schema' THEN io.name END))
FROM pg_description d, pg_identify_object(d.classoid, d.objoid, d.objsubid) io
WHERE d.objoid >= 16384 AND d.classoid <> 'pg_catalog.pg_extension'::regclass
UNION ALL
SELECT 'publication', p.pubname,
       concat_ws(' ', CASE WHEN p.puballtables THEN 'all tables' END, CASE WHEN p.pubinsert THEN 'insert' END,
                 CASE WHEN p.pubupdate THEN 'update' END, CASE WHEN p.pubdelete THEN 'delete' END,
                 CASE WHEN p.pubtruncate THEN 'truncate' END), NULL, NULL
FROM pg_publication p
UNION ALL
SELECT 'publication table', pt.pubname || ' ' || quote_ident(pt.schemaname) || '.' || quote_ident(pt.tablename),
       coalesce(pt.attnames::text, '') || ' ' || coalesce(pt.rowfilter, ''),
       pt.schemaname, (quote_ident(pt.schemaname) || '.' || quote_ident(pt.tablename))::regclass::text
FROM pg_publication_tables pt
UNION ALL
SELECT 'database setting', coalesce((SELECT name FROM nm WHERE nm.oid = s.setrole AND s.setrole <> 0), '(all roles)'),
       coalesce(s.setconfig::text, '{}'), NULL, NULL
FROM pg_db_role_setting s
WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY 1, 2, 3
