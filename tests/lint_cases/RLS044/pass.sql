CREATE ROLE app_user NOLOGIN;
CREATE TABLE members (org_id int, user_id int);
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
ALTER TABLE members FORCE ROW LEVEL SECURITY;
CREATE POLICY member_read ON members TO app_user
  USING (user_id = current_setting('app.user_id', true)::int);
-- the helper's owner (the migrating role) reads the table through a policy of its own
CREATE POLICY members_definer_select ON members FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT ON members TO app_user;
CREATE FUNCTION is_member(o int) RETURNS boolean LANGUAGE sql STABLE
  SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ SELECT EXISTS (SELECT 1 FROM members WHERE org_id = o) $$;
REVOKE EXECUTE ON FUNCTION is_member(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION is_member(int) TO app_user;
