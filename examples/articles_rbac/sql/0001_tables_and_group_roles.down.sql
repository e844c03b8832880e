DROP SCHEMA cms CASCADE;
DROP ROLE mister_nobody;
