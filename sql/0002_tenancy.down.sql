DROP POLICY customers_tenant_isolation ON app.customers;
DROP TABLE app.customers;
DROP TABLE app.organisations;
