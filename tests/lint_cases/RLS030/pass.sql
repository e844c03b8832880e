CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE ROLE app NOLOGIN;
CREATE TABLE todos (id bigint PRIMARY KEY, user_id uuid NOT NULL);
CREATE INDEX ON todos (user_id);
ALTER TABLE todos ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON todos TO app;
CREATE POLICY own ON todos TO app USING ((SELECT auth.uid()) = user_id);
