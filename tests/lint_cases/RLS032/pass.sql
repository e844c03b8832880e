CREATE ROLE app NOLOGIN;
CREATE TABLE orgs (id bigint PRIMARY KEY);
CREATE TABLE members (org_id bigint, user_name text);
ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON orgs TO app;
CREATE POLICY select_visible ON orgs FOR SELECT TO app
    USING (id IN (SELECT org_id FROM members WHERE user_name IN (current_user, 'public')));
