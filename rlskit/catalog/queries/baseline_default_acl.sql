-- Global ALTER DEFAULT PRIVILEGES (no IN SCHEMA; pg_dump --schema leaves them out),
-- as the privileges that differ from the built-in default. One row per privilege:
-- granted = true for a GRANT, false for a REVOKE.
SELECT pg_get_userbyid(x.role) AS role, x.role = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS is_me,
       x.objtype, x.privilege,
       CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END AS grantee,
       x.grantable, x.granted
FROM (
    SELECT d.defaclrole AS role, d.defaclobjtype::text AS objtype, a.grantee,
           a.privilege_type AS privilege, a.is_grantable AS grantable, true AS granted
    FROM pg_default_acl d, aclexplode(d.defaclacl) a
    WHERE d.defaclnamespace = 0
      AND (a.grantee, a.privilege_type, a.is_grantable) NOT IN (
          SELECT b.grantee, b.privilege_type, b.is_grantable
          FROM aclexplode(acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END,
                                     d.defaclrole)) b)
    UNION ALL
    SELECT d.defaclrole, d.defaclobjtype::text, b.grantee, b.privilege_type, false, false
    FROM pg_default_acl d,
         aclexplode(acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END,
                               d.defaclrole)) b
    WHERE d.defaclnamespace = 0
      AND (b.grantee, b.privilege_type) NOT IN (
          SELECT a.grantee, a.privilege_type FROM aclexplode(d.defaclacl) a)
) x
ORDER BY 1, 3, 5, 4
