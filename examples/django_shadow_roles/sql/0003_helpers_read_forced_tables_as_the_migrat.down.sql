-- Restore the previous rendering

-- drop policy:django.auth_user:auth_user_definer_select
DROP POLICY IF EXISTS "auth_user_definer_select" ON "django"."auth_user";
