-- Restore the previous rendering

-- drop custom:auth_user_superuser
DROP POLICY IF EXISTS "auth_user_superuser" ON "django"."auth_user";
DROP FUNCTION IF EXISTS "django"."auth_user_superuser_is_superuser"(integer);

-- drop trigger:django.auth_user:auth_user_drop_role
DROP TRIGGER IF EXISTS "auth_user_drop_role" ON "django"."auth_user";

-- drop trigger:django.auth_user:auth_user_create_role
DROP TRIGGER IF EXISTS "auth_user_create_role" ON "django"."auth_user";

-- drop policy:django.auth_user:auth_user_self_owner_update
DROP POLICY IF EXISTS "auth_user_self_owner_update" ON "django"."auth_user";

-- drop policy:django.auth_user:auth_user_self_owner_select
DROP POLICY IF EXISTS "auth_user_self_owner_select" ON "django"."auth_user";

-- drop function:django.auth_user_drop_role()
DROP FUNCTION IF EXISTS "django"."auth_user_drop_role"();

-- drop function:django.auth_user_create_role()
DROP FUNCTION IF EXISTS "django"."auth_user_create_role"();

-- drop rls:django.auth_user
ALTER TABLE "django"."auth_user" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "django"."auth_user" DISABLE ROW LEVEL SECURITY;
