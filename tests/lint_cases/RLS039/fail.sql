CREATE FUNCTION tenant() RETURNS bigint IMMUTABLE LANGUAGE sql AS $$ SELECT current_setting('app.tenant', true)::bigint $$;
