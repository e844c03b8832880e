-- RLS027: the fixed version, no RLS027
CREATE TABLE c (id serial PRIMARY KEY, name text);
CREATE ROLE app NOLOGIN;
GRANT SELECT, INSERT ON c TO app;
GRANT USAGE ON SEQUENCE c_id_seq TO app;
