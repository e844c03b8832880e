-- Tables whose rows a downgrade could lose: plain tables and partitions outside the
-- system schemas and rlskit's bookkeeping, with their user columns; whether a row
-- count can be taken without row security hiding rows (checkable).
-- %(oids)s: NULL for every table, else only these; %(exclude)s: schemas left out.
SELECT c.oid::bigint AS oid, n.nspname::text AS schema, c.relname::text AS name,
       coalesce(array_agg(a.attnum::int ORDER BY a.attnum)
                FILTER (WHERE a.attnum IS NOT NULL), '{}') AS attnums,
       coalesce(array_agg(a.attname::text ORDER BY a.attnum)
                FILTER (WHERE a.attnum IS NOT NULL), '{}') AS attnames,
       has_table_privilege(c.oid, 'SELECT')
         AND NOT (c.relrowsecurity
                  AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE'))
                  AND NOT r.rolsuper AND NOT r.rolbypassrls) AS checkable
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_roles r ON r.rolname = current_user
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname !~ '^pg_(toast_)?temp_'
  AND n.nspname <> ALL (%(exclude)s::text[])
  AND (%(oids)s::bigint[] IS NULL OR c.oid::bigint = ANY (%(oids)s::bigint[]))
GROUP BY c.oid, n.nspname, c.relname, r.rolsuper, r.rolbypassrls
ORDER BY 2, 3
