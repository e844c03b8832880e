-- RLS020: the fixed version, no RLS020
CREATE TABLE t (id int PRIMARY KEY, owner_id int, tenant_id int);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE ROLE app NOLOGIN;
GRANT SELECT ON t TO app;
CREATE POLICY t_sel ON t FOR SELECT TO app USING (owner_id = (SELECT nullif(current_setting('app.user_id', true), '')::int));
