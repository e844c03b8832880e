"""Names that hold terminal control characters must not rewrite the terminal.

Issue 12 item 13: a role, table or policy named with ``\\x1b[2K\\x1b[1A`` (clear
the line, move up), ``\\r``, a C1 control (``\\x9b``, CSI on some terminals) or a
bidi override (U+202E) is shown escaped in every human-readable output, while
JSON output keeps the exact name. Real server, real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from psycopg import sql

from ..conftest import Database, Server, rlskit, write_revision

EVIL = "x\x1b[2K\x1b[1A\r\x9b\u202eevil\u2028\x07"


def raw_controls(text: str) -> list[str]:
    """Characters that are neither printable nor a line break."""
    return sorted({c for c in text if not (c.isprintable() or c == "\n")})


@pytest.fixture
def hostile(project: Path, database: Database) -> Database:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    name = sql.Identifier(EVIL)
    with database.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(name))
        conn.execute(sql.SQL("GRANT SELECT ON app.notes TO {}").format(name))
        conn.execute(
            sql.SQL("CREATE POLICY {} ON app.notes FOR SELECT TO app_user USING (true)").format(
                name
            )
        )
        conn.execute(sql.SQL("CREATE TABLE app.{} (id int)").format(name))
        conn.execute(sql.SQL("GRANT SELECT ON app.{} TO app_user").format(name))
    return database


def test_drift_text_escapes_control_characters(
    project: Path, hostile: Database, scratch_server: Server
) -> None:
    scratch = scratch_server.url("postgres")
    res = rlskit("drift", "--scratch-url", scratch, project=project, url=hostile.url)
    assert res.exit_code == 1
    assert raw_controls(res.output) == []
    assert "x\\x1b[2K\\x1b[1A\\r\\x9b\\u202eevil" in res.output
    # JSON keeps the exact names
    res = rlskit(
        "drift", "--scratch-url", scratch, "--format", "json", project=project, url=hostile.url
    )
    assert any(EVIL in d["object"] for d in json.loads(res.output))


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_permissions_text_escapes_control_characters(
    project: Path, hostile: Database, fmt: str
) -> None:
    res = rlskit("permissions", "app_user", "--format", fmt, project=project, url=hostile.url)
    assert res.exit_code == 0, res.output
    assert raw_controls(res.output) == []
    assert "\\x1b[2K" in res.output


def test_permissions_json_keeps_exact_names(project: Path, hostile: Database) -> None:
    res = rlskit("permissions", "app_user", "--format", "json", project=project, url=hostile.url)
    assert f"app.{EVIL}" in [t["table"] for t in json.loads(res.output)["tables"]]


def test_error_message_escapes_control_characters(project: Path, database: Database) -> None:
    write_revision(project, "0099", f'SELECT 1/0 AS "{EVIL}";\n', message="fails")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code != 0 and "Error" in res.output
    assert raw_controls(res.output) == []


def test_status_and_lint_escape_control_characters(project: Path, database: Database) -> None:
    write_revision(
        project,
        "0099",
        f'CREATE TABLE app."{EVIL}" (id int);\nGRANT SELECT ON app."{EVIL}" TO PUBLIC;\n',
        f'DROP TABLE app."{EVIL}";\n',
        message="evil \x1b[2K\x1b[1A\r\x9b\u202e message",
    )
    res = rlskit("status", project=project, url=database.url)
    assert raw_controls(res.output) == []
    assert "\\x1b[2K" in res.output
    res = rlskit("lint", project=project)
    assert "RLS" in res.output
    assert raw_controls(res.output) == []


def test_escape_writes_every_control_character_visibly() -> None:
    from rlskit.term import escape

    assert escape("app_user") == "app_user"
    assert escape("ünïcode 日本") == "ünïcode 日本"
    assert escape(EVIL) == "x\\x1b[2K\\x1b[1A\\r\\x9b\\u202eevil\\u2028\\x07"
    assert escape("a\nb\tc") == "a\\nb\\tc"
    assert escape("a\nb\tc\r", keep_newlines=True) == "a\nb\tc\\r"
    for c in ["\x00", "\x7f", "\x85", "\u200f", "\u2066", "\u2069", "\ufeff"]:
        assert raw_controls(escape(c)) == []
