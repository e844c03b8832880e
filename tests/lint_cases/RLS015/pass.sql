-- RLS015: the fixed version, no RLS015
CREATE TABLE t (id int);
CREATE ROLE app NOLOGIN;
GRANT SELECT ON t TO app;
