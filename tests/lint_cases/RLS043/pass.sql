CREATE TABLE accounts (id int PRIMARY KEY, tenant_id int, plan text);
-- the data migration runs before FORCE ROW LEVEL SECURITY
UPDATE accounts SET plan = 'free' WHERE plan IS NULL;
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON accounts USING (tenant_id = current_setting('app.tenant_id')::int);
