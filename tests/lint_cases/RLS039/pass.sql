CREATE FUNCTION tenant() RETURNS bigint STABLE LANGUAGE sql AS $$ SELECT current_setting('app.tenant', true)::bigint $$;
