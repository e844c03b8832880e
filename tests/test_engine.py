"""Issue 15: upgrades of plain linear projects run without Alembic (:mod:`rlskit.engine`).
Oracle: the Alembic path (``RLSKIT_NO_FAST_PATH=1``) on a twin database of another
cluster; both databases compared with pg_dump --schema-only, the bookkeeping rows,
the version row, and what each printed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bench.corpus_adopt import policy_roles_sorted
from rlskit import engine
from rlskit.project import Project

from .conftest import HEAD, Database, Server, fresh_database, rlskit, write_revision


def _dump(db: Database) -> list[str]:
    proc = subprocess.run(
        [db.server.embedded.tool("pg_dump"), "--schema-only", db.url],
        capture_output=True,
        text=True,
        check=True,
    )
    skip = ("\\restrict", "\\unrestrict", "-- Dumped")
    return [
        policy_roles_sorted(line) for line in proc.stdout.splitlines() if not line.startswith(skip)
    ]


def _book(db: Database) -> list[tuple[object, ...]]:
    with db.connect(autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('rlskit.rlskit_applied_files')").fetchone()[0]:
            return conn.execute(
                "SELECT revision, path, checksum, content_hash, applied_by "
                "FROM rlskit.rlskit_applied_files ORDER BY revision"
            ).fetchall()
    return []


def _said(text: str, db: Database) -> str:
    text = re.sub(r"\d+ ms", "N ms", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "TIME", text)
    # the server quotes the statement that failed: Alembic writes its version row its way
    text = re.sub(r"LINE 1: .*?\^", "LINE 1: ... ^", " ".join(text.split(" ")), flags=re.S)
    return text.replace(db.url.split("@")[1], "HOST/DB")


def _both(
    project: Path,
    a: Database,
    b: Database,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """``rlskit upgrade ARGS`` through the engine on ``a``, through Alembic on ``b``."""
    monkeypatch.delenv("RLSKIT_NO_FAST_PATH", raising=False)
    ra = rlskit("upgrade", *args, project=project, url=a.url)
    monkeypatch.setenv("RLSKIT_NO_FAST_PATH", "1")
    rb = rlskit("upgrade", *args, project=project, url=b.url)
    monkeypatch.delenv("RLSKIT_NO_FAST_PATH")
    return (
        (ra.exit_code, _said(ra.output, a), _said(ra.stderr, a)),
        (rb.exit_code, _said(rb.output, b), _said(rb.stderr, b)),
    )


def _same(a: Database, b: Database) -> None:
    assert _dump(a) == _dump(b)
    assert _book(a) == _book(b)
    assert a.version() == b.version()


@pytest.fixture
def twin(scratch_server: Server) -> object:
    with fresh_database(scratch_server) as db:
        yield db


def test_the_reference_schema_upgrades_alike_with_and_without_alembic(
    project: Path, database: Database, twin: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert engine.linear_plan(Project.find(project)) is not None
    ours, theirs = _both(project, database, twin, monkeypatch)
    assert ours == theirs and ours[0] == 0, ours
    assert database.version() == [HEAD]
    _same(database, twin)


def test_from_the_middle_alike(
    project: Path, database: Database, twin: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first part by Alembic (a target other than head), the rest each way."""
    _both(project, database, twin, monkeypatch, "0004")
    ours, theirs = _both(project, database, twin, monkeypatch)
    assert ours == theirs and "was 0004" in ours[1]
    _same(database, twin)


def test_per_revision_no_transaction_and_stripped_files_alike(
    project: Path, database: Database, twin: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_revision(project, "0100", "BEGIN;\nCREATE TABLE app.t100 (id int);\nCOMMIT;\n")
    write_revision(
        project,
        "0101",
        "-- rlskit: no-transaction\nCREATE INDEX CONCURRENTLY t100_id ON app.t100 (id);\n",
        message="index",
    )
    ours, theirs = _both(project, database, twin, monkeypatch)
    assert ours == theirs and ours[0] == 2 and "--per-revision" in ours[2]
    _same(database, twin)  # refused before anything ran: both still empty
    ours, theirs = _both(project, database, twin, monkeypatch, "--per-revision")
    assert ours == theirs and ours[0] == 0, ours
    assert "left out the file's own BEGIN" in ours[1]
    _same(database, twin)


def test_failures_are_reported_alike_and_change_nothing(
    project: Path, database: Database, twin: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _both(project, database, twin, monkeypatch)
    write_revision(project, "0100", "CREATE TABLE app.ok (id int);\n")
    write_revision(project, "0101", "CREATE TABLE app.bad (id int);\nSELECT 1/0;\n", message="x")
    ours, theirs = _both(project, database, twin, monkeypatch)
    assert ours == theirs and ours[0] == 1
    assert "sql/0101_x.up.sql:2" in ours[2] and f"at {HEAD}, as before" in " ".join(ours[2].split())
    _same(database, twin)
    # an applied file edited afterwards
    path = next((project / "sql").glob("0002_*.up.sql"))
    path.write_text(path.read_text() + "\nCREATE TABLE app.sneaky (id int);\n")
    ours, theirs = _both(project, database, twin, monkeypatch)
    assert ours == theirs and ours[0] == 5


def test_a_revision_that_breaks_the_bookkeeping_is_named_not_called_a_lost_connection(
    project: Path, database: Database, twin: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _both(project, database, twin, monkeypatch)
    write_revision(project, "0100", "DROP TABLE rlskit.alembic_version;\n", message="oops")
    ours, theirs = _both(project, database, twin, monkeypatch)
    assert ours == theirs and ours[0] == 1, ours
    said = " ".join(ours[2].split())
    assert "rlskit's own bookkeeping failed" in said and "was lost" not in said
    assert f"the database is at {HEAD} (was {HEAD})" in said
    _same(database, twin)
    assert database.version() == [HEAD]


def test_branched_histories_are_left_to_alembic(project: Path) -> None:
    write_revision(project, "0100", "SELECT 1;\n", down_revision="0008", message="side")
    assert engine.linear_plan(Project.find(project)) is None


def test_a_form_encoded_query_reaches_libpq_as_sqlalchemy_reads_it() -> None:
    from rlskit.urls import libpq_url

    url = "postgresql+psycopg://u:p@h/d?options=-c+search_path%3D%22t1%22&application_name=a%2Bb"
    assert libpq_url(url) == (
        "postgresql://u:p@h/d?options=-c%20search_path%3D%22t1%22&application_name=a%2Bb"
    )
    assert libpq_url("postgresql:///db?host=/tmp") == "postgresql:///db?host=/tmp"
