-- Policy changes rendered by rlskit from policies/*.yaml

-- create policy:django.auth_user:auth_user_definer_select (policies/000_django.yaml:10)
-- For the role running the migrations only: it owns the SECURITY DEFINER
-- helpers that read this table, and FORCE RLS applies to it (no superuser).
CREATE POLICY "auth_user_definer_select" ON "django"."auth_user"
    AS PERMISSIVE FOR SELECT TO CURRENT_USER
    USING (true);
