-- RLS022: the fixed version, no RLS022
CREATE TABLE t (id int PRIMARY KEY, owner_id int, tenant_id int);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE ROLE app NOLOGIN;
CREATE FUNCTION mine() RETURNS int[] LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ SELECT array_agg(id) FROM public.t $$;
REVOKE ALL ON FUNCTION mine() FROM PUBLIC;
GRANT SELECT ON t TO app;
CREATE POLICY t_sel ON t FOR SELECT TO app USING (id = ANY ((SELECT mine())::int[]) AND owner_id = (SELECT nullif(current_setting('app.user_id', true), '')::int));
