-- RLS009: must report RLS009
CREATE TABLE t (id int, owner_id int);
CREATE ROLE app NOLOGIN;
GRANT SELECT ON t TO app;
CREATE POLICY t_sel ON t FOR SELECT TO app USING (owner_id = (SELECT nullif(current_setting('app.user_id', true), '')::int));
