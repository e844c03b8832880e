-- Documents owned by a user, with identity taken from a signed token (issue:
-- unforgeable identity). The policies are rendered from policies/005_signed.yaml.
CREATE TABLE app.documents (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES app.users (id) ON DELETE CASCADE,
    title    text NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON app.documents TO app_user;
