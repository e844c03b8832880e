DROP TABLE app.notes;
-- Roles made by the trigger for existing users go with the table.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT id FROM app.users LOOP
        EXECUTE format('DROP ROLE IF EXISTS %I', 'user:' || r.id);
    END LOOP;
END
$$;
DROP TABLE app.users;
DROP FUNCTION app.drop_user_role();
DROP FUNCTION app.create_user_role();
DROP FUNCTION app.current_user_id();
