CREATE TABLE notes (id int, owner text, body text);
CREATE VIEW my_notes WITH (security_barrier = true) AS SELECT * FROM notes WHERE owner = current_user;
