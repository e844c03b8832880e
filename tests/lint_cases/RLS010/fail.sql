-- RLS010: must report RLS010
CREATE TABLE perms (role text, permission text);
CREATE ROLE app NOLOGIN;
GRANT SELECT ON perms TO app;
