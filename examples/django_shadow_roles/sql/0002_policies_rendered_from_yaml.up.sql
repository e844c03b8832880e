-- Policy changes rendered by rlskit from policies/*.yaml

-- create rls:django.auth_user (policies/000_django.yaml:16)
ALTER TABLE "django"."auth_user" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "django"."auth_user" FORCE ROW LEVEL SECURITY;

-- create function:django.auth_user_create_role() (policies/000_django.yaml:10)
CREATE OR REPLACE FUNCTION "django"."auth_user_create_role"() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
DECLARE
    role_name text := 'django:' || NEW."id";
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
    END IF;
    EXECUTE format('GRANT %I TO %I', 'django_users', role_name);
    EXECUTE format('GRANT %I TO %I', role_name, 'django');
    RETURN NULL;
END
$rlskit$;
REVOKE ALL ON FUNCTION "django"."auth_user_create_role"() FROM PUBLIC;

-- create function:django.auth_user_drop_role() (policies/000_django.yaml:10)
CREATE OR REPLACE FUNCTION "django"."auth_user_drop_role"() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
BEGIN
    EXECUTE format('DROP ROLE IF EXISTS %I', 'django:' || OLD."id");
    RETURN NULL;
END
$rlskit$;
REVOKE ALL ON FUNCTION "django"."auth_user_drop_role"() FROM PUBLIC;

-- create policy:django.auth_user:auth_user_self_owner_select (policies/000_django.yaml:16)
CREATE POLICY "auth_user_self_owner_select" ON "django"."auth_user"
    AS PERMISSIVE FOR SELECT TO "django_users"
    USING ("id" = (SELECT CASE WHEN starts_with(current_user::text, 'django:') AND substr(current_user::text, 8) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 8)::integer END));

-- create policy:django.auth_user:auth_user_self_owner_update (policies/000_django.yaml:16)
CREATE POLICY "auth_user_self_owner_update" ON "django"."auth_user"
    AS PERMISSIVE FOR UPDATE TO "django_users"
    USING ("id" = (SELECT CASE WHEN starts_with(current_user::text, 'django:') AND substr(current_user::text, 8) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 8)::integer END))
    WITH CHECK ("id" = (SELECT CASE WHEN starts_with(current_user::text, 'django:') AND substr(current_user::text, 8) ~ '^[0-9]{1,9}$' THEN substr(current_user::text, 8)::integer END));

-- create trigger:django.auth_user:auth_user_create_role (policies/000_django.yaml:10)
CREATE TRIGGER "auth_user_create_role" AFTER INSERT ON "django"."auth_user"
    FOR EACH ROW EXECUTE FUNCTION "django"."auth_user_create_role"();
DO $rlskit$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT "id" AS id FROM "django"."auth_user" LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'django:' || r.id) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', 'django:' || r.id);
        END IF;
        EXECUTE format('GRANT %I TO %I', 'django_users', 'django:' || r.id);
        EXECUTE format('GRANT %I TO %I', 'django:' || r.id, 'django');
    END LOOP;
END
$rlskit$;

-- create trigger:django.auth_user:auth_user_drop_role (policies/000_django.yaml:10)
CREATE TRIGGER "auth_user_drop_role" AFTER DELETE ON "django"."auth_user"
    FOR EACH ROW EXECUTE FUNCTION "django"."auth_user_drop_role"();

-- create custom:auth_user_superuser (policies/000_django.yaml:25)
CREATE OR REPLACE FUNCTION "django"."auth_user_superuser_is_superuser"(user_id integer) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $rlskit$
SELECT coalesce((SELECT u."is_superuser" FROM "django"."auth_user" AS u
                 WHERE u."id" = $1), false)
$rlskit$;
REVOKE ALL ON FUNCTION "django"."auth_user_superuser_is_superuser"(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "django"."auth_user_superuser_is_superuser"(integer) TO "django_users";
CREATE POLICY "auth_user_superuser" ON "django"."auth_user"
    AS PERMISSIVE FOR SELECT TO "django_users"
    USING ((SELECT "django"."auth_user_superuser_is_superuser"(
        CASE WHEN starts_with(current_user::text, 'django:')
             THEN substr(current_user::text, 8)::integer END)));
