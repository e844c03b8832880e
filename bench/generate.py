"""Generated schemas for benchmarks: N tables with 4 policies each, roles,
grants and a SECURITY DEFINER helper, as an rlskit project."""

from __future__ import annotations

import shutil
from pathlib import Path

from rlskit import commands


def schema_sql(tables: int, prefix: str = "g") -> tuple[str, str]:
    """Up and down SQL for ``tables`` tables with 4 policies each."""
    up = [
        f"CREATE ROLE {prefix}_app NOLOGIN;",
        f"CREATE ROLE {prefix}_admin NOLOGIN;",
        f"CREATE SCHEMA {prefix};",
        f"GRANT USAGE ON SCHEMA {prefix} TO {prefix}_app, {prefix}_admin;",
        f"CREATE FUNCTION {prefix}.tenant_ids(uid bigint) RETURNS bigint[]\n"
        "    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp\n"
        "    AS $$ SELECT ARRAY[uid] $$;",
        f"REVOKE ALL ON FUNCTION {prefix}.tenant_ids(bigint) FROM PUBLIC;",
        f"GRANT EXECUTE ON FUNCTION {prefix}.tenant_ids(bigint) TO {prefix}_app;",
    ]
    down = []
    setting = "(SELECT nullif(current_setting('app.tenant_id', true), '')::bigint)"
    for i in range(tables):
        t = f"{prefix}.t{i:04d}"
        up += [
            f"CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "tenant_id bigint NOT NULL, body text);",
            f"CREATE INDEX t{i:04d}_tenant_idx ON {t} (tenant_id);",
            f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;",
            f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY;",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO {prefix}_app, {prefix}_admin;",
            f"CREATE POLICY t{i:04d}_select ON {t} FOR SELECT TO {prefix}_app "
            f"USING (tenant_id = {setting});",
            f"CREATE POLICY t{i:04d}_insert ON {t} FOR INSERT TO {prefix}_app "
            f"WITH CHECK (tenant_id = {setting});",
            f"CREATE POLICY t{i:04d}_update ON {t} FOR UPDATE TO {prefix}_app "
            f"USING (tenant_id = {setting}) WITH CHECK (tenant_id = {setting});",
            f"CREATE POLICY t{i:04d}_admin ON {t} FOR ALL TO {prefix}_admin "
            "USING (true) WITH CHECK (true);",
        ]
    down += [
        f"DROP SCHEMA {prefix} CASCADE;",
        f"DROP ROLE {prefix}_admin;",
        f"DROP ROLE {prefix}_app;",
    ]
    return "\n".join(up) + "\n", "\n".join(down) + "\n"


def make_project(directory: Path, tables: int) -> Path:
    """An rlskit project with one revision creating the generated schema."""
    if directory.exists():
        shutil.rmtree(directory)
    commands.init(directory)
    ini = directory / "alembic.ini"
    ini.write_text(
        ini.read_text().replace(
            "[loggers]", "[rlskit.lint]\ntrusted_settings = app.tenant_id\n\n[loggers]", 1
        )
    )
    from rlskit.project import Project

    up, down = schema_sql(tables)
    commands.new(Project.find(directory), "generated schema", up_sql=up, down_sql=down)
    return directory
