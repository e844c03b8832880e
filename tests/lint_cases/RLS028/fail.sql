-- RLS028: must report RLS028
CREATE TABLE t (id int PRIMARY KEY, owner_id int, tenant_id int);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE ROLE app NOLOGIN;
GRANT SELECT ON t TO app;
CREATE POLICY t_sel ON t FOR SELECT TO app USING (owner_id = (SELECT nullif(current_setting('app.user_id', true), '')::int));
CREATE POLICY t_ins ON t FOR INSERT TO app WITH CHECK (owner_id = (SELECT nullif(current_setting('app.user_id', true), '')::int));
