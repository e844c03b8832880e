-- Roles a baseline needs: every role holding a privilege or a policy on an object
-- in the chosen schemas, every role owning one (other than the role reading the
-- catalog, whose objects the migrating role will own), plus the roles connected
-- to those by membership chains.
-- Params: schemas (text[]). Excludes the bootstrap superuser and pg_* roles.
WITH RECURSIVE used AS (
    SELECT a.grantee AS oid
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
         LATERAL aclexplode(c.relacl) a
    WHERE n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT a.grantee FROM pg_attribute att
    JOIN pg_class c ON c.oid = att.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace,
         LATERAL aclexplode(att.attacl) a
    WHERE n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT a.grantee FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
         LATERAL aclexplode(p.proacl) a
    WHERE n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT a.grantee FROM pg_namespace n, LATERAL aclexplode(n.nspacl) a
    WHERE n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT a.grantee FROM pg_default_acl d
    LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, LATERAL aclexplode(d.defaclacl) a
    WHERE n.nspname IS NULL OR n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT d.defaclrole FROM pg_default_acl d
    LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
    WHERE n.nspname IS NULL OR n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT r FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace, unnest(pol.polroles) r
    WHERE n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT t.typowner FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = ANY (%(schemas)s::text[])
    UNION
    SELECT n.nspowner FROM pg_namespace n WHERE n.nspname = ANY (%(schemas)s::text[])
), down AS (  -- members of used roles, and their members (they inherit or SET ROLE)
    SELECT oid FROM used
    UNION SELECT m.member FROM pg_auth_members m JOIN down d ON d.oid = m.roleid
), up AS (  -- roles the used roles are members of
    SELECT oid FROM used
    UNION SELECT m.roleid FROM pg_auth_members m JOIN up u ON u.oid = m.member
), connected AS (
    SELECT oid FROM down UNION SELECT oid FROM up
)
SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
       r.rolbypassrls, r.rolconnlimit
FROM pg_roles r JOIN connected c ON c.oid = r.oid
WHERE r.oid <> 10 AND r.rolname !~ '^pg_' AND r.rolname <> current_user
ORDER BY r.oid  -- creation order: policies list their roles in it
