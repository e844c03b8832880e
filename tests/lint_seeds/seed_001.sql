-- Seed 001 "ACL via Row Level Security in PostgreSQL", its SQL as written.
CREATE TYPE article_status_type AS ENUM ('draft', 'published', 'archived', 'deleted');
CREATE TABLE articles (id INT, title TEXT, date_published timestamptz, status article_status_type);
INSERT INTO articles VALUES
                            (1, 'How to not get murdered.', '2020-01-01', 'published'),
                            (2, 'World peace ion three easy steps.', '2020-01-01', 'draft'),
                            (3, 'Secrets about Rossewell.', '2020-01-01', 'deleted');

-- Enable and enforce RLS
ALTER TABLE articles ENABLE ROW LEVEL SECURITY;
ALTER TABLE articles FORCE ROW LEVEL SECURITY;

CREATE USER mister_nobody WITH ENCRYPTED PASSWORD 'misternobody';
GRANT ALL ON articles TO misternobody;

-- A table to store the rights per role.
CREATE TABLE auth_role_permission
(
    role       text,
    permission text
);

-- The queries are executed by misternobody so he too needs access to this table.
GRANT SELECT ON auth_role_permission to misternobody;

INSERT INTO auth_role_permission (role, permission) VALUES ('USER', 'read_articles');
INSERT INTO auth_role_permission (role, permission) VALUES ('EDITOR', 'read_articles');
INSERT INTO auth_role_permission (role, permission) VALUES ('EDITOR', 'edit_articles');
INSERT INTO auth_role_permission (role, permission) VALUES ('EDITOR', 'create_articles');
INSERT INTO auth_role_permission (role, permission) VALUES ('ADMIN', 'read_articles');
INSERT INTO auth_role_permission (role, permission) VALUES ('ADMIN', 'edit_articles');
INSERT INTO auth_role_permission (role, permission) VALUES ('ADMIN', 'delete_articles');

-- Users who have only read access can read only articles that are published.
-- Users who have edit or admin richts can see all.
CREATE POLICY articles_policy_select
    ON public.articles
    FOR SELECT
    USING (
        (EXISTS(SELECT null
                FROM auth_role_permission
                WHERE role = current_setting('myapp.role')
                  AND permission = 'read_articles')
            AND
         status = 'published'::article_status_type
            )
        OR EXISTS(SELECT null
                  FROM auth_role_permission
                  WHERE role = current_setting('myapp.role')
                    AND permission IN ('edit_articles', 'admin_articles')
            )
    );

-- Only editors can insert
CREATE POLICY articles_policy_insert
    ON public.articles
    FOR INSERT
    WITH CHECK (
        EXISTS(SELECT null
                  FROM auth_role_permission
                  WHERE role = current_setting('myapp.role')
                    AND permission = 'create_articles')
    );

-- Only admins and editors can update
CREATE POLICY articles_policy_update
    ON public.articles
    FOR SELECT
    USING (
        EXISTS(SELECT null
                  FROM auth_role_permission
                  WHERE role = current_setting('myapp.role')
                    AND (permission IN('editor_articles', 'admin_articles')))
    );

-- Only admins can delete
CREATE POLICY articles_policy_delete
    ON public.articles
    FOR SELECT
    USING (EXISTS(SELECT null
                  FROM auth_role_permission
                  WHERE role = current_setting('myapp.role')
                    AND permission = 'delete_articles'));
