-- Sessions (other than ours) holding granted locks on the named relations.
-- params: relation names (text[]), our backend pid
SELECT a.pid,
       l.mode,
       c.oid::regclass::text AS relation,
       coalesce(a.usename, '') AS usename,
       coalesce(a.application_name, '') AS application_name,
       coalesce(a.state, '') AS state,
       coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)), 0)::float8 AS seconds,
       left(coalesce(a.query, ''), 200) AS query
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted
  AND l.pid <> %s
  AND c.oid = ANY (SELECT to_regclass(n) FROM unnest(%s::text[]) AS n WHERE to_regclass(n) IS NOT NULL)
ORDER BY seconds DESC
