-- Roles other than PostgreSQL's predefined pg_* roles.
SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
       rolbypassrls, rolconnlimit
FROM pg_roles
WHERE rolname !~ '^pg_'
ORDER BY rolname
