-- Notes that only their author sees, a profile made for every new user by a
-- trigger on the platform's auth.users, and an avatars bucket in storage.
-- The platform (platform/supabase.sql) grants ALL on new tables and functions in
-- public to anon/authenticated/service_role: RLS and explicit REVOKEs narrow it.

CREATE TABLE public.profiles (
    id uuid PRIMARY KEY REFERENCES auth.users ON DELETE CASCADE,
    username text UNIQUE CHECK (char_length(username) >= 3),
    avatar_url text
);
ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.profiles FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.profiles FROM anon;
-- every signed-in user may read every profile, on purpose
-- rlskit: ignore RLS004
CREATE POLICY profiles_read ON public.profiles FOR SELECT TO authenticated USING (true);
CREATE POLICY profiles_update_own ON public.profiles FOR UPDATE TO authenticated
    USING (id = (SELECT auth.uid())) WITH CHECK (id = (SELECT auth.uid()));

CREATE TABLE public.notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id uuid NOT NULL DEFAULT auth.uid() REFERENCES auth.users ON DELETE CASCADE,
    body text NOT NULL
);
CREATE INDEX notes_author_id_idx ON public.notes (author_id);
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.notes FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.notes FROM anon;
CREATE POLICY notes_own ON public.notes FOR ALL TO authenticated
    USING (author_id = (SELECT auth.uid())) WITH CHECK (author_id = (SELECT auth.uid()));

-- a profile for every new user; runs as its owner, so nobody may call it directly
CREATE FUNCTION public.handle_new_user() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    INSERT INTO public.profiles (id) VALUES (NEW.id);
    RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION public.handle_new_user() FROM PUBLIC, anon, authenticated, service_role;
CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
    FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();

-- avatars: anyone reads, a signed-in user writes in their own folder. The platform
-- enabled RLS on storage.objects (lint reads only this project's files: RLS009).
INSERT INTO storage.buckets (id, name, public) VALUES ('avatars', 'avatars', true);
-- rlskit: ignore RLS005, RLS009
CREATE POLICY avatars_read ON storage.objects FOR SELECT TO anon, authenticated
    USING (bucket_id = 'avatars');
-- storage.foldername() is the platform's (SQL, inlined): RLS019 does not apply
-- rlskit: ignore RLS009, RLS019
CREATE POLICY avatars_write_own ON storage.objects FOR INSERT TO authenticated
    WITH CHECK (bucket_id = 'avatars'
                AND (storage.foldername(name))[1] = (SELECT auth.uid())::text);
