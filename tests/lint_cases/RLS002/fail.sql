-- RLS002: must report RLS002
CREATE TABLE t (id int PRIMARY KEY, owner_id int, tenant_id int);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE ROLE app NOLOGIN;
GRANT SELECT, UPDATE ON t TO app;
CREATE POLICY t_sel ON t FOR SELECT TO app USING (owner_id = (SELECT nullif(current_setting('app.user_id', true), '')::int));
CREATE POLICY t_upd ON t FOR UPDATE TO app WITH CHECK (owner_id = (SELECT nullif(current_setting('app.user_id', true), '')::int));
