-- What Supabase grants the role its migrations run as ("postgres", which is not a
-- superuser there) on the platform's schemas. For projects with [rlskit] migrate_as:
-- rlskit runs scratch_setup files as the scratch server's superuser with the setting
-- rlskit.migrate_as naming that role (empty without migrate_as: the superuser needs
-- nothing, and this file does nothing). Applied after platform/supabase.sql (or any
-- stand-in with the same auth/storage/extensions schemas).
--
-- Taken from supabase/postgres: migrations/db/migrations/
-- 20211115181400_update-auth-permissions.sql, 10000000000000_demote-postgres.sql,
-- 20250421084701_revoke_admin_roles_from_postgres.sql (no CREATE on auth/storage, no
-- membership in their owners), 20250623125453_tmp_grant_storage_tables_to_postgres_
-- with_grant_option.sql, 20250709135250_grant_storage_schema_to_postgres_with_grant_
-- option.sql; ansible/files/postgresql_config/supautils.conf.j2 (policy_grants).
-- Not modelled: Supabase's "postgres" also has BYPASSRLS; migrate_as never does (the
-- stricter RDS / Cloud SQL / Azure case, where RLS applies to data migrations).
DO $platform$
DECLARE
    m text := nullif(current_setting('rlskit.migrate_as', true), '');
BEGIN
    IF m IS NULL THEN
        RETURN;
    END IF;
    -- auth: USAGE and every privilege on its tables and functions; TRIGGER on
    -- auth.users is what lets migrations add on_auth_user_created
    EXECUTE format('GRANT USAGE ON SCHEMA auth TO %I', m);
    EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA auth TO %I', m);
    EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA auth TO %I', m);
    EXECUTE format('GRANT ALL ON ALL ROUTINES IN SCHEMA auth TO %I', m);
    -- storage: the same, with grant option (migrations may pass them on)
    EXECUTE format('GRANT USAGE ON SCHEMA storage TO %I WITH GRANT OPTION', m);
    EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA storage TO %I WITH GRANT OPTION', m);
    EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA storage TO %I', m);
    EXECUTE format('GRANT ALL ON ALL ROUTINES IN SCHEMA storage TO %I', m);
    -- public: what this role creates is open to the API roles, as what the platform
    -- creates is (Supabase ran its first migrations as "postgres", whose default
    -- privileges these are); RLS policies and REVOKEs are what narrow it
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                   'GRANT ALL ON TABLES TO anon, authenticated, service_role', m);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                   'GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role', m);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                   'GRANT ALL ON SEQUENCES TO anon, authenticated, service_role', m);
    -- extensions
    EXECUTE format('GRANT ALL ON SCHEMA extensions TO %I', m);
    EXECUTE format('GRANT ALL ON ALL ROUTINES IN SCHEMA extensions TO %I', m);
    -- Policies on auth's and storage's tables (storage.objects policies, say):
    -- Supabase lets its migrating role manage them without owning the tables
    -- (the supautils extension's policy_grants). Plain PostgreSQL lets only the
    -- owner, so the stand-in inherits the owners' rights, without SET ROLE (no
    -- ALTER ... OWNER TO them). Broader than Supabase: ALTER TABLE on these tables,
    -- or CREATE in their schemas, pass here and are refused there.
    EXECUTE format(
        'GRANT supabase_auth_admin, supabase_storage_admin TO %I WITH INHERIT TRUE, SET FALSE', m
    );
END
$platform$;
