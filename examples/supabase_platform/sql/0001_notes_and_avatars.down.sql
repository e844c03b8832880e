DROP POLICY avatars_write_own ON storage.objects;
DROP POLICY avatars_read ON storage.objects;
DELETE FROM storage.buckets WHERE id = 'avatars';
DROP TRIGGER on_auth_user_created ON auth.users;
DROP FUNCTION public.handle_new_user();
DROP TABLE public.notes;
DROP TABLE public.profiles;
