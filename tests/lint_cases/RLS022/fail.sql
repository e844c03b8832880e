-- RLS022: must report RLS022
CREATE TABLE t (id int PRIMARY KEY, owner_id int, tenant_id int);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE ROLE app NOLOGIN;
CREATE FUNCTION mine() RETURNS int[] LANGUAGE sql STABLE AS $$ SELECT array_agg(id) FROM t $$;
GRANT SELECT ON t TO app;
CREATE POLICY t_sel ON t FOR SELECT TO app USING (id = ANY ((SELECT mine())::int[]) AND owner_id = (SELECT nullif(current_setting('app.user_id', true), '')::int));
