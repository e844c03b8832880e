DROP SCHEMA app;
REVOKE app_admin FROM app_login;
REVOKE app_user FROM app_login;
DROP ROLE app_admin;
DROP ROLE app_user;
DROP ROLE app_login;
