-- RLS013: must report RLS013
CREATE FUNCTION mk(n text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'CREATE ROLE ' || n;
END $$;
