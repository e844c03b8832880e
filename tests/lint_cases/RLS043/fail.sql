CREATE TABLE accounts (id int PRIMARY KEY, tenant_id int, plan text);
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON accounts USING (tenant_id = current_setting('app.tenant_id')::int);
-- a data migration: as migrate_as (no BYPASSRLS, FORCE applies to the owner) it changes 0 rows
UPDATE accounts SET plan = 'free' WHERE plan IS NULL;
