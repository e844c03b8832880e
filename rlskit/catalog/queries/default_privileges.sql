-- ALTER DEFAULT PRIVILEGES entries.
SELECT pg_get_userbyid(d.defaclrole) AS role, coalesce(n.nspname, '') AS schema,
       d.defaclobjtype::text AS object_type, coalesce(d.defaclacl::text[], '{}') AS acl
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
ORDER BY 1, 2, 3
