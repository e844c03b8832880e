-- Per-user database roles (seeds 000 and 002), done safely:
--  * the role is created by a SECURITY DEFINER trigger with a pinned search_path,
--  * the name is quoted with format('%I'), never concatenated into SQL,
--  * the role can never log in; the app's login role switches to it with SET LOCAL ROLE.
CREATE TABLE app.users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL UNIQUE,
    organisation_id bigint REFERENCES app.organisations (id),
    is_admin        boolean NOT NULL DEFAULT false
);

-- The id of the signed-in user, taken from the role name 'user:<id>'.
CREATE FUNCTION app.current_user_id() RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN current_user::text ~ '^user:[0-9]+$'
                THEN split_part(current_user::text, ':', 2)::bigint END
$$;

CREATE FUNCTION app.create_user_role() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    role_name text := 'user:' || NEW.id;
BEGIN
    EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
    EXECUTE format('GRANT %I TO %I', 'app_user', role_name);
    EXECUTE format('GRANT %I TO %I', role_name, 'app_login');
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.create_user_role() FROM PUBLIC;

CREATE FUNCTION app.drop_user_role() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('DROP ROLE IF EXISTS %I', 'user:' || OLD.id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.drop_user_role() FROM PUBLIC;

CREATE TRIGGER users_create_role AFTER INSERT ON app.users
    FOR EACH ROW EXECUTE FUNCTION app.create_user_role();
CREATE TRIGGER users_drop_role AFTER DELETE ON app.users
    FOR EACH ROW EXECUTE FUNCTION app.drop_user_role();

ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.users FORCE ROW LEVEL SECURITY;
GRANT SELECT (id, username, organisation_id) ON app.users TO app_user;
GRANT SELECT, INSERT, DELETE ON app.users TO app_admin;
CREATE POLICY users_select_own ON app.users FOR SELECT TO app_user
    USING (id = (SELECT app.current_user_id()));
CREATE POLICY users_admin_all ON app.users FOR ALL TO app_admin
    USING (true) WITH CHECK (true);

-- Notes belong to one user: owner-only, per command.
CREATE TABLE app.notes (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES app.users (id) ON DELETE CASCADE,
    body     text NOT NULL
);
CREATE INDEX notes_owner_id_idx ON app.notes (owner_id, id);
ALTER TABLE app.notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.notes FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.notes TO app_user;
CREATE POLICY notes_owner_select ON app.notes FOR SELECT TO app_user
    USING (owner_id = (SELECT app.current_user_id()));
CREATE POLICY notes_owner_insert ON app.notes FOR INSERT TO app_user
    WITH CHECK (owner_id = (SELECT app.current_user_id()));
CREATE POLICY notes_owner_update ON app.notes FOR UPDATE TO app_user
    USING (owner_id = (SELECT app.current_user_id()))
    WITH CHECK (owner_id = (SELECT app.current_user_id()));
CREATE POLICY notes_owner_delete ON app.notes FOR DELETE TO app_user
    USING (owner_id = (SELECT app.current_user_id()));
