-- RLS025: the fixed version, no RLS025
CREATE ROLE web NOLOGIN;
