DROP POLICY organisations_admin_all ON app.organisations;
DROP POLICY organisations_tenant_select ON app.organisations;
DROP POLICY customers_tenant_isolation ON app.customers;
DROP TABLE app.customers;
DROP TABLE app.organisations;
