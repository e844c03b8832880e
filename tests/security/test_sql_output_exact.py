"""Generated SQL is exact and terminal-safe at once.

Red-team finding L5: ``rlskit drift`` printed its restore SQL through the
terminal escaper, so a name holding control characters came out as
``REVOKE ... FROM "evil\\x1b[2K..."``: valid SQL for ANOTHER name. Names and
constants with characters that are not printable are now written in
PostgreSQL's escaped forms (``U&"ev\\001B..."`` and ``E'\\u001B...'``): the
text holds no raw control character, and it names the real object. Checked
with a real server and psql, the server's own client.
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from rlskit.quoting import quote_ident, quote_literal

from ..conftest import Database, Server, rlskit, write_revision

EVIL = "x\x1b[2K\x1b[1A\r\x9b\u202eevil\u2028\x07"
NAMES = [
    EVIL,
    "back\\slash\x1b",
    'quo"te\n',
    "del\x7f",
    "nel\x85",
    "tag\U000e0001",
    "tab\there",
    "日本\u200f",
    "bom\ufeff",
    "plain name",
    "\\",
    'U&"x\x1b',
]


def raw_controls(text: str) -> list[str]:
    """Characters that are neither printable nor a line break."""
    return sorted({c for c in text if not (c.isprintable() or c == "\n")})


@pytest.mark.parametrize("scs", ["on", "off"])
def test_quoted_names_and_constants_are_printable_and_exact(database: Database, scs: str) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute(f"SET standard_conforming_strings = {scs}")
        conn.execute("CREATE SCHEMA IF NOT EXISTS q")
        for name in NAMES:
            ident, lit = quote_ident(name), quote_literal(name)
            assert raw_controls(ident) == [] and "\n" not in ident, ident
            assert raw_controls(lit) == [] and "\n" not in lit, lit
            assert conn.execute(f"SELECT {lit}").fetchone() == (name,)
            conn.execute(f"CREATE TABLE q.{ident} ()")
            found = conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = 'q'::regnamespace "
                "AND relname = %s",
                (name,),
            ).fetchone()
            assert found == (name,), (name, ident)


def test_printable_names_keep_the_plain_form() -> None:
    assert quote_ident("app_user") == '"app_user"'
    assert quote_ident('a"b') == '"a""b"'
    assert quote_ident("日本 x") == '"日本 x"'
    assert quote_literal("it's") == "'it''s'"


def _restore_sql(output: str) -> str:
    head = "-- SQL that restores what the migrations expect (review before running):\n"
    assert head in output, output
    body = output.split(head, 1)[1]
    return body.rsplit("\n\n", 1)[0] + "\n"


def test_drift_restore_sql_applied_with_psql_removes_the_drift(
    project: Path, database: Database, server: Server, scratch_server: Server
) -> None:
    tag = uuid.uuid4().hex[:6]
    # Made by the migrations, then damaged live (no line breaks: a .sql file's line
    # endings are normalised, \r included).
    expected = f"x\x1b[2K\x1b[1A\x9b\u202eevil\x07{tag}"
    intruder = f"in\x1b[2K\r\u2028\u202e{tag}"  # not made by the migrations

    def qi(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    write_revision(
        project,
        "0099",
        f"CREATE ROLE {qi(expected)} NOLOGIN;\n"
        f"GRANT SELECT ON app.notes TO {qi(expected)};\n"
        f"CREATE POLICY {qi(expected)} ON app.notes FOR SELECT TO {qi(expected)}\n"
        f"    USING (body <> E'\\x1b[2K\\r' || {qi('x' + chr(0x202E))}.f());\n",
        f"DROP POLICY {qi(expected)} ON app.notes;\nDROP OWNED BY {qi(expected)};\n"
        f"DROP ROLE {qi(expected)};\n",
        message="evil names",
    )
    # The policy calls a function in a schema whose name holds a bidi override.
    setup = (
        f"CREATE SCHEMA IF NOT EXISTS {qi('x' + chr(0x202E))};\n"
        f"CREATE OR REPLACE FUNCTION {qi('x' + chr(0x202E))}.f() RETURNS text "
        "LANGUAGE sql AS 'SELECT ''''';\n"
    )
    up = next((project / "sql").glob("0099_*.up.sql"))
    up.write_text(setup + up.read_text())
    scratch = scratch_server.url("postgres")
    try:
        assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
        with database.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("DROP POLICY {} ON app.notes").format(sql.Identifier(expected)))
            conn.execute(
                sql.SQL("REVOKE SELECT ON app.notes FROM {}").format(sql.Identifier(expected))
            )
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(intruder)))
            conn.execute(
                sql.SQL("GRANT UPDATE ON app.notes TO {}").format(sql.Identifier(intruder))
            )
            conn.execute(
                sql.SQL("CREATE POLICY {} ON app.notes TO {} USING (true)").format(
                    sql.Identifier(intruder), sql.Identifier(intruder)
                )
            )
        res = rlskit("drift", "--scratch-url", scratch, project=project, url=database.url)
        assert res.exit_code == 1, res.output
        assert raw_controls(res.output) == []
        restore = _restore_sql(res.output)
        assert "DROP POLICY" in restore and "CREATE POLICY" in restore
        script = project / "restore.sql"
        script.write_text(restore)
        psql = subprocess.run(
            [server.psql, "-X", "-v", "ON_ERROR_STOP=1", "-d", database.url, "-f", str(script)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert psql.returncode == 0, (restore, psql.stderr)
        # psql acted on the real objects: the drift is gone.
        res = rlskit("drift", "--scratch-url", scratch, project=project, url=database.url)
        assert res.exit_code == 0, (restore, res.output)
        assert (
            database.scalar("SELECT count(*) FROM pg_policies WHERE policyname = %s", expected) == 1
        )
        assert (
            database.scalar("SELECT has_table_privilege(%s, 'app.notes', 'SELECT')", expected)
            is True
        )
        assert (
            database.scalar("SELECT has_table_privilege(%s, 'app.notes', 'UPDATE')", intruder)
            is False
        )
    finally:
        with database.connect(autocommit=True) as conn:
            for role in (expected, intruder):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        for srv in (server, scratch_server):
            with srv.admin() as conn:
                for role in (expected, intruder):
                    # may still own something in a scratch database: harmless
                    with contextlib.suppress(psycopg.Error):
                        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
