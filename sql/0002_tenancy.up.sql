-- Multi-tenancy (seed 004): every customer row belongs to one organisation and
-- a request only sees its own organisation's rows. The application sets
--   SELECT set_config('app.tenant_id', '42', true);   -- per transaction
-- An unset value reads as NULL (nullif), so nothing is visible instead of an error.
CREATE TABLE app.organisations (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE app.customers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES app.organisations (id),
    name            text NOT NULL,
    email           text,
    notes           text
);
-- The policy's column stands first in an index so the filter uses it (FINDINGS §8).
CREATE INDEX customers_organisation_id_idx ON app.customers (organisation_id, id);

COMMENT ON TABLE app.customers IS 'Tenant rows; a setting like ''app.tenant_id'' = ''12:30 :name'' is just text';

ALTER TABLE app.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.customers FORCE ROW LEVEL SECURITY;
ALTER TABLE app.organisations ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.organisations FORCE ROW LEVEL SECURITY;

-- Column grants: users see and edit contact data; notes are for admins only.
GRANT SELECT (id, name) ON app.organisations TO app_user;
GRANT SELECT (id, organisation_id, name, email) ON app.customers TO app_user;
GRANT INSERT (organisation_id, name, email) ON app.customers TO app_user;
GRANT UPDATE (name, email) ON app.customers TO app_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.customers TO app_admin;
GRANT SELECT, INSERT, UPDATE ON app.organisations TO app_admin;

CREATE POLICY customers_tenant_isolation ON app.customers
    FOR ALL TO app_user, app_admin
    USING (organisation_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint))
    WITH CHECK (organisation_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint));

-- A tenant sees its own organisation only; admins manage all of them.
CREATE POLICY organisations_tenant_select ON app.organisations
    FOR SELECT TO app_user
    USING (id = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint));
CREATE POLICY organisations_admin_all ON app.organisations
    FOR ALL TO app_admin
    USING (true) WITH CHECK (true)