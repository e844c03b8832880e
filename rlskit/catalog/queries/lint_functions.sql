-- Functions with what lint needs: security, search_path, language, body and
-- whether PUBLIC may execute them (a NULL ACL means the default: it may).
SELECT n.nspname || '.' || p.proname AS name,
       l.lanname AS language,
       p.prosecdef AS security_definer,
       (SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) AS c
         WHERE c LIKE 'search_path=%') AS search_path,
       p.prorettype = 'trigger'::regtype AS returns_trigger,
       p.prosrc AS body,
       coalesce(p.proargnames::text[], '{}') AS params,
       pg_get_functiondef(p.oid) AS definition,
       EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
               WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public_execute,
       p.provolatile::text AS volatility,
       p.proleakproof AS leakproof,
       ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
             FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
             WHERE a.privilege_type = 'EXECUTE') AS executors,
       pg_get_userbyid(p.proowner)::text AS owner
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
