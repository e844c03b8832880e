-- Seed 003 "Use postgresql for authorization layer", its SQL as written
-- (from "Putting everything together"; statements in the article's order).
CREATE TABLE account (
  id SERIAL PRIMARY KEY,
  username VARCHAR(32) NOT NULL,
  password TEXT NOT NULL,
  phone_number TEXT NOT NULL,
  role VARCHAR(16) NOT NULL
);

ALTER TABLE account ADD CONSTRAINT unique_username UNIQUE(username);
ALTER TABLE account ENABLE ROW LEVEL SECURITY;

CREATE TABLE store (
  id SERIAL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  description TEXT,
  rank INT DEFAULT -1,
  owner_id INT NOT NULL REFERENCES account(id) ON DELETE CASCADE
);
ALTER TABLE store ENABLE ROW LEVEL SECURITY;

CREATE TABLE product (
  id SERIAL PRIMARY KEY,
  name VARCHAR(128) NOT NULL,
  stock INT DEFAULT 0,
  description TEXT,
  store_id INT NOT NULL REFERENCES store(id) ON DELETE CASCADE
);
ALTER TABLE product ENABLE ROW LEVEL SECURITY;

CREATE ROLE super_admin;
CREATE ROLE store_owner;
CREATE ROLE normal_account;

GRANT normal_account TO store_owner;
GRANT store_owner TO super_admin;

GRANT SELECT ON account TO normal_account;
GRANT UPDATE ON account TO normal_account;

CREATE POLICY normal_account_can_update_their_account ON account
FOR UPDATE
TO normal_account
WITH CHECK (is_current_account(id));

CREATE POLICY normal_account_can_select_their_account ON account
FOR SELECT
TO normal_account
USING (is_current_account(id));

CREATE OR REPLACE FUNCTION is_current_account(account_id integer)
RETURNS BOOLEAN
AS $$
DECLARE
  current_account_id INT;
  owner_id INT;
BEGIN
  SELECT current_setting('auth.current_account_id', true)::int INTO current_account_id;
  RETURN current_account_id = account_id;
END;
$$ LANGUAGE plpgsql;

GRANT INSERT, DELETE ON account TO super_admin;
CREATE POLICY super_admin_can_do_anything ON account
FOR ALL
TO super_admin
USING (true)
WITH CHECK (true);

GRANT ALL ON account_id_seq TO super_admin;

GRANT SELECT(id, name, description) ON store TO normal_account;
GRANT SELECT(rank, owner_id) ON store TO store_owner;
GRANT UPDATE(name, description) ON store TO store_owner;
GRANT ALL ON store TO super_admin;
GRANT ALL ON store_id_seq TO super_admin;

CREATE POLICY normal_account_can_select_everything ON store
FOR SELECT
TO normal_account
USING (true);

CREATE POLICY store_owner_can_update_their_store ON store
FOR UPDATE
TO store_owner
WITH CHECK (is_current_account(owner_id));

CREATE POLICY super_admin_can_do_anything ON store
FOR ALL
TO store_owner
USING (true)
WITH CHECK (true);

GRANT SELECT ON store TO normal_account;
GRANT UPDATE(name, stock, description) ON store TO store_owner;
GRANT INSERT ON store TO store_owner;
GRANT SELECT, USAGE ON store_id_seq TO store_owner;
GRANT DELETE ON store TO store_owner;

GRANT ALL ON store TO super_admin;
GRANT ALL ON store_id_seq TO super_admin;

CREATE POLICY   normal_account_can_select_everything ON product
FOR SELECT
TO normal_account
USING (true);

CREATE POLICY store_owner_can_update_their_product ON product
FOR UPDATE
TO store_owner
WITH CHECK (is_store_owner(store_id));

CREATE POLICY store_owner_can_delete_their_product ON product
FOR DELETE
TO store_owner
USING (is_store_owner(store_id));

CREATE POLICY store_owner_can_insert_product_to_their_store ON product
FOR INSERT
TO store_owner
WITH CHECK (is_store_owner(store_id));

CREATE OR REPLACE FUNCTION is_store_owner(store_id integer)
RETURNS BOOLEAN
AS $$
DECLARE
  owner_id INT;
BEGIN
  SELECT owner_id FROM store WHERE id = store_id INTO owner_id;
  RETURN is_current_account(owner_id);
END;
$$ LANGUAGE plpgsql;
