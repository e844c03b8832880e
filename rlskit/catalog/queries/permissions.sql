-- What one role may do on each table: effective table privileges (direct or
-- inherited through memberships), column-only privileges, RLS flags and the
-- policies that apply to it (MAINTAIN on PostgreSQL 17+), and which privileges PUBLIC
-- holds. Params: role (text) x 6, schemas (text[], empty: all).
SELECT n.nspname AS schema, c.relname AS name,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       pg_get_userbyid(c.relowner) AS owner,
       pg_has_role(%(role)s, c.relowner, 'USAGE') AS acts_as_owner,
       ARRAY(SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']
                                  || CASE WHEN current_setting('server_version_num')::int >= 170000
                                          THEN ARRAY['MAINTAIN'] ELSE '{}'::text[] END) AS p
             WHERE has_table_privilege(%(role)s, c.oid, p)) AS privileges,
       -- a NULL ACL is the owner's built-in privileges: direct, not inherited
       ARRAY(SELECT a.privilege_type
             FROM aclexplode(coalesce(c.relacl, acldefault(
                 CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) AS a
             WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %(role)s)) AS direct,
       ARRAY(SELECT a.privilege_type
             FROM aclexplode(coalesce(c.relacl, acldefault(
                 CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) AS a
             WHERE a.grantee = 0) AS public,
       ARRAY(SELECT p || ' (' || string_agg(quote_ident(att.attname), ', ' ORDER BY att.attnum) || ')'
             FROM unnest(ARRAY['SELECT','INSERT','UPDATE','REFERENCES']) AS p
             CROSS JOIN pg_attribute att
             WHERE att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
               AND NOT has_table_privilege(%(role)s, c.oid, p)
               AND has_column_privilege(%(role)s, c.oid, att.attnum, p)
             GROUP BY p ORDER BY p) AS column_privileges,
       ARRAY(SELECT json_build_object(
                 'name', pol.polname,
                 'command', CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                            WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                 'permissive', pol.polpermissive,
                 'roles', ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END
                                FROM unnest(pol.polroles) AS r),
                 'using', pg_get_expr(pol.polqual, pol.polrelid),
                 'check', pg_get_expr(pol.polwithcheck, pol.polrelid))::text
             FROM pg_policy pol
             WHERE pol.polrelid = c.oid
               AND (0 = ANY (pol.polroles)
                    OR EXISTS (SELECT 1 FROM unnest(pol.polroles) AS r
                               WHERE pg_has_role(%(role)s, r, 'USAGE')))
             ORDER BY pol.polname) AS policies,
       -- without USAGE on the schema none of the privileges above can be used
       has_schema_privilege(%(role)s, n.oid, 'USAGE') AS schema_usage
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  AND c.relname NOT IN ('alembic_version', 'rlskit_applied_files')
  AND (cardinality(%(schemas)s::text[]) = 0 OR n.nspname = ANY (%(schemas)s::text[]))
ORDER BY 1, 2
