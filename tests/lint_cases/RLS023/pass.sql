-- RLS023: the fixed version, no RLS023
CREATE TABLE perms (role text, permission text);
INSERT INTO perms VALUES ('EDITOR', 'edit');
CREATE TABLE t (id int PRIMARY KEY, owner_id int, tenant_id int);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE ROLE app NOLOGIN;
GRANT SELECT ON t TO app;
CREATE POLICY t_sel ON t FOR SELECT TO app USING (EXISTS (SELECT FROM perms WHERE role = (SELECT nullif(current_setting('app.role', true), '')) AND permission = 'edit'));
