-- RLS010: the fixed version, no RLS010
CREATE TABLE perms (role text, permission text);
CREATE ROLE app NOLOGIN;
