-- Who is a member of which role (GRANT role TO member). creator_grant: the
-- membership PostgreSQL 16+ gives a non-superuser CREATEROLE role in each role it
-- creates (ADMIN OPTION, granted by the bootstrap superuser), not a GRANT of the
-- migrations.
SELECT r.rolname AS role, m.rolname AS member, am.admin_option,
       (am.grantor = 10 AND am.admin_option AND m.rolcreaterole AND NOT m.rolsuper
        AND current_setting('server_version_num')::int >= 160000) AS creator_grant
FROM pg_auth_members am
JOIN pg_roles r ON r.oid = am.roleid
JOIN pg_roles m ON m.oid = am.member
WHERE r.rolname !~ '^pg_'
ORDER BY 1, 2
