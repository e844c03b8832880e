-- Views and materialized views, their options and the tables their query reads (lint).
SELECT n.nspname || '.' || c.relname AS name,
       c.relkind = 'm' AS materialized,
       coalesce(c.reloptions::text[], '{}') AS options,
       pg_get_viewdef(c.oid) AS definition,
       ARRAY(SELECT DISTINCT dn.nspname || '.' || dc.relname
             FROM pg_rewrite r
             JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
             JOIN pg_class dc ON dc.oid = d.refobjid AND dc.oid <> c.oid
             JOIN pg_namespace dn ON dn.oid = dc.relnamespace
             WHERE r.ev_class = c.oid AND dc.relkind IN ('r', 'p')) AS reads
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
