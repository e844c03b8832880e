"""permissions, issue 13: a privilege on a function or table in a schema the role has
no USAGE on cannot be used. The listing of functions the role may EXECUTE leaves such
functions out (they are named apart), and such a table says "no USAGE on schema" in
every format. Oracle: calling the function and reading the table as the role."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from rlskit.permissions import as_html, as_json, as_markdown, as_text, report

from .conftest import Database, rlskit

NO_USAGE = "no USAGE on schema"


@pytest.fixture
def setup(database: Database) -> Database:
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE u_app LOGIN")
        conn.execute("CREATE SCHEMA open_s")
        conn.execute("GRANT USAGE ON SCHEMA open_s TO u_app")
        conn.execute("CREATE SCHEMA closed_s")  # nobody but the owner has USAGE
        for s in ("open_s", "closed_s"):
            # EXECUTE through PUBLIC (the default) and granted directly
            conn.execute(f"CREATE FUNCTION {s}.f_public() RETURNS int LANGUAGE sql AS 'SELECT 1'")
            conn.execute(f"CREATE FUNCTION {s}.f_direct() RETURNS int LANGUAGE sql AS 'SELECT 2'")
            conn.execute(f"REVOKE EXECUTE ON FUNCTION {s}.f_direct() FROM PUBLIC")
            conn.execute(f"GRANT EXECUTE ON FUNCTION {s}.f_direct() TO u_app")
            conn.execute(f"CREATE TABLE {s}.t (id int)")
            conn.execute(f"GRANT SELECT, INSERT ON {s}.t TO u_app")
    return database


def _as_role(db: Database, sql: str) -> bool:
    """The oracle: does ``sql`` run as u_app?"""
    with db.connect() as conn:
        conn.execute("SET ROLE u_app")
        try:
            conn.execute(sql)
        except psycopg.errors.InsufficientPrivilege:
            return False
        return True


def test_functions_it_may_execute_need_schema_usage(setup: Database) -> None:
    with setup.connect() as conn:
        rep = report(conn, "u_app", schemas=["open_s", "closed_s"])
    listed = {f.signature for f in rep.functions}
    for s in ("open_s", "closed_s"):
        for f in ("f_public", "f_direct"):
            runs = _as_role(setup, f"SELECT {s}.{f}()")
            assert (f"{s}.{f}()" in listed) == runs, (s, f, runs, listed)
    assert listed == {"open_s.f_public()", "open_s.f_direct()"}
    # said apart, not silently dropped: EXECUTE is granted, a GRANT USAGE would open them
    assert {f.signature for f in rep.unusable_functions} == {
        "closed_s.f_public()",
        "closed_s.f_direct()",
    }
    text = as_text(rep)
    may = text.split("Functions it may EXECUTE:")[1].split("\n\n")[0]
    assert "closed_s" not in may and "open_s.f_direct()" in may
    assert f"{NO_USAGE} closed_s" in text
    md = as_markdown(rep)
    html = as_html(rep)
    for out in (md, html):
        assert "closed_s.f_direct()" in out
        line = next(x for x in out.splitlines() if "closed_s.f_direct()" in x)
        assert NO_USAGE in line or NO_USAGE in out.split("closed_s.f_direct()")[1][:200]
    data = json.loads(as_json(rep))
    assert {f["signature"] for f in data["functions"]} == listed
    assert {f["signature"] for f in data["unusable_functions"]} == {
        "closed_s.f_public()",
        "closed_s.f_direct()",
    }


def test_table_privileges_without_schema_usage_are_marked(setup: Database) -> None:
    assert _as_role(setup, "SELECT * FROM open_s.t")
    assert not _as_role(setup, "SELECT * FROM closed_s.t")
    with setup.connect() as conn:
        rep = report(conn, "u_app", schemas=["open_s", "closed_s"], count=True)
    tables = {t.table: t for t in rep.tables}
    closed, opened = tables["closed_s.t"], tables["open_s.t"]
    assert opened.verdict("SELECT") == "all rows" and opened.counts["SELECT"] == 0
    assert closed.verdict("SELECT") == f"denied ({NO_USAGE})"
    assert closed.verdict("INSERT") == f"denied ({NO_USAGE})"
    assert closed.counts["SELECT"] == "denied"  # not counted, not a failed count
    assert not rep.failed_counts()
    text = as_text(rep)
    block = text.split("closed_s.t")[1].split("open_s.t")[0]
    assert NO_USAGE in block and "denied" in block
    md_line = next(x for x in as_markdown(rep).splitlines() if "closed_s.t" in x)
    assert NO_USAGE in md_line
    html_row = next(x for x in as_html(rep).split("<tr>") if "closed_s.t" in x)
    assert NO_USAGE in html_row and "all rows" not in html_row
    data = {t["table"]: t for t in json.loads(as_json(rep))["tables"]}
    assert data["closed_s.t"]["schema_usage"] is False
    assert data["open_s.t"]["schema_usage"] is True
    # what it would gain with USAGE is still shown
    assert set(data["closed_s.t"]["privileges"]) == {"SELECT", "INSERT"}


def test_cli_formats_say_no_usage(setup: Database, project: Path) -> None:
    for fmt in ("text", "markdown", "html", "json"):
        res = rlskit(
            "permissions", "u_app", "--schema", "closed_s", "--format", fmt,
            project=project, url=setup.url,
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        assert NO_USAGE in res.output or '"schema_usage": false' in res.output, (fmt, res.output)
