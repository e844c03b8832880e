DROP SCHEMA sales CASCADE;
DROP ROLE salespeople;
DROP ROLE sales_app;
