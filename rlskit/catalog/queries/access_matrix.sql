-- What one role may do on each table, for `rlskit review` and `rlskit explain`:
-- table privileges per command, column-only privileges (both only with USAGE on
-- the table's schema: without it the role cannot name the table), why RLS would not apply
-- to it (superuser, BYPASSRLS, owner without FORCE) and the policies that apply
-- to it (PUBLIC, or a role it has the privileges of). Params: role (text).
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       CASE WHEN r.rolsuper THEN 'superuser' WHEN r.rolbypassrls THEN 'BYPASSRLS'
            WHEN pg_has_role(r.oid, c.relowner, 'USAGE') AND NOT c.relforcerowsecurity
            THEN 'owner' END AS exempt,
       ARRAY(SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p
             WHERE has_table_privilege(r.oid, c.oid, p)
               AND has_schema_privilege(r.oid, n.oid, 'USAGE')) AS privileges,
       ARRAY(SELECT p || ' ' || att.attname
             FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE']) AS p
             CROSS JOIN pg_attribute att
             WHERE att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
               AND NOT has_table_privilege(r.oid, c.oid, p)
               AND has_column_privilege(r.oid, c.oid, att.attnum, p)
               AND has_schema_privilege(r.oid, n.oid, 'USAGE')
             ORDER BY p, att.attnum) AS column_privileges,
       ARRAY(SELECT json_build_object(
                 'name', pol.polname,
                 'command', CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                            WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                 'permissive', pol.polpermissive,
                 'using', pg_get_expr(pol.polqual, pol.polrelid),
                 'check', pg_get_expr(pol.polwithcheck, pol.polrelid))::text
             FROM pg_policy pol
             WHERE pol.polrelid = c.oid
               AND (0 = ANY (pol.polroles)
                    OR EXISTS (SELECT 1 FROM unnest(pol.polroles) AS pr
                               WHERE pg_has_role(r.oid, pr, 'USAGE')))
             ORDER BY pol.polname) AS policies
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN pg_roles r
WHERE r.rolname = %(role)s
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  AND c.relname NOT IN ('alembic_version', 'rlskit_applied_files')
ORDER BY 1, 2
