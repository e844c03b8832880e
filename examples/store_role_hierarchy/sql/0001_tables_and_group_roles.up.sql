-- Seed 003 (account / store / product with normal_account < store_owner <
-- super_admin, column grants, sequence grants; the caller's account id comes
-- from the setting auth.current_account_id).
CREATE SCHEMA shop;
CREATE TABLE shop.account (
    id           serial PRIMARY KEY,
    username     varchar(32) NOT NULL UNIQUE,
    password     text NOT NULL,
    phone_number text NOT NULL,
    role         varchar(16) NOT NULL
);
CREATE TABLE shop.store (
    id          serial PRIMARY KEY,
    name        varchar(64) NOT NULL,
    description text,
    rank        integer DEFAULT -1,
    owner_id    integer NOT NULL REFERENCES shop.account (id) ON DELETE CASCADE
);
CREATE TABLE shop.product (
    id          serial PRIMARY KEY,
    name        varchar(128) NOT NULL,
    stock       integer DEFAULT 0,
    description text,
    store_id    integer NOT NULL REFERENCES shop.store (id) ON DELETE CASCADE
);
