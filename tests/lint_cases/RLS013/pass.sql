-- RLS013: the fixed version, no RLS013
CREATE FUNCTION mk(n text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE ROLE %I', n);
END $$;
