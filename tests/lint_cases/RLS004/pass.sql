-- RLS004: the fixed version, no RLS004
CREATE TABLE t (id int PRIMARY KEY, owner_id int, tenant_id int);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE ROLE app NOLOGIN;
CREATE ROLE app_admin NOLOGIN;
GRANT SELECT ON t TO app_admin;
CREATE POLICY t_all ON t FOR SELECT TO app_admin USING (true);
-- the migrating role's own rows (the owner of SECURITY DEFINER helpers reading t)
CREATE POLICY t_definer_select ON t FOR SELECT TO CURRENT_USER USING (true);
