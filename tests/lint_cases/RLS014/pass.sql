-- RLS014: the fixed version, no RLS014
CREATE TABLE store (id int, owner_id int);
CREATE FUNCTION o(sid int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE v_owner int;
BEGIN
  SELECT s.owner_id FROM store s WHERE s.id = sid INTO v_owner;
  RETURN v_owner;
END $$;
