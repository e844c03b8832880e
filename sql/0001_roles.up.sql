-- Roles of the reference application.
--   app_login  the role the application connects as. NOINHERIT: it holds no
--              privilege itself and must SET ROLE to act (give it LOGIN and a
--              password out of band, never in a migration).
--   app_user   every signed-in user acts as this role, or as a per-user role
--              that is a member of it (revision 0003).
--   app_admin  administrators.
CREATE ROLE app_login NOLOGIN NOINHERIT;
CREATE ROLE app_user NOLOGIN;
CREATE ROLE app_admin NOLOGIN;
GRANT app_user TO app_login;
GRANT app_admin TO app_login;

CREATE SCHEMA app;
REVOKE ALL ON SCHEMA app FROM PUBLIC;
GRANT USAGE ON SCHEMA app TO app_user, app_admin;
