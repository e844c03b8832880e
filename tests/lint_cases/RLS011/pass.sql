-- RLS011: the fixed version, no RLS011
CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ SELECT 1 $$;
REVOKE ALL ON FUNCTION f() FROM PUBLIC;
