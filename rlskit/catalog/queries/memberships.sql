-- Who is a member of which role (GRANT role TO member).
SELECT r.rolname AS role, m.rolname AS member, am.admin_option
FROM pg_auth_members am
JOIN pg_roles r ON r.oid = am.roleid
JOIN pg_roles m ON m.oid = am.member
WHERE r.rolname !~ '^pg_'
ORDER BY 1, 2
