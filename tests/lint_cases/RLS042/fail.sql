CREATE TABLE notes (id int, owner text, body text);
CREATE VIEW my_notes AS SELECT * FROM notes WHERE owner = current_user;
