-- Seed 001 (articles with draft/published/deleted; USER/EDITOR/ADMIN via a
-- role -> permission table keyed by the session setting myapp.role).
CREATE ROLE mister_nobody NOLOGIN;
CREATE SCHEMA cms;
GRANT USAGE ON SCHEMA cms TO mister_nobody;
CREATE TYPE cms.article_status_type AS ENUM ('draft', 'published', 'archived', 'deleted');
CREATE TABLE cms.articles (
    id             integer PRIMARY KEY,
    title          text NOT NULL,
    date_published timestamptz,
    status         cms.article_status_type NOT NULL DEFAULT 'draft'
);
CREATE TABLE cms.auth_role_permission (
    role       text NOT NULL,
    permission text NOT NULL,
    PRIMARY KEY (role, permission)
);
INSERT INTO cms.auth_role_permission (role, permission) VALUES
    ('USER', 'read_articles'),
    ('EDITOR', 'read_articles'), ('EDITOR', 'edit_articles'), ('EDITOR', 'create_articles'),
    ('ADMIN', 'read_articles'), ('ADMIN', 'edit_articles'), ('ADMIN', 'delete_articles');
-- The article granted ALL; TRUNCATE and REFERENCES bypass RLS, so only DML here.
GRANT SELECT, INSERT, UPDATE, DELETE ON cms.articles TO mister_nobody;
-- No grant on auth_role_permission: the policies read it through a
-- SECURITY DEFINER function (the article's "in practice you would...").
