-- RLS014: must report RLS014
CREATE TABLE store (id int, owner_id int);
CREATE FUNCTION o(sid int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE owner_id int;
BEGIN
  SELECT owner_id FROM store WHERE id = sid INTO owner_id;
  RETURN owner_id;
END $$;
