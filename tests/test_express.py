"""Issue 15: the console script's express upgrade (:mod:`rlskit.express`).

Oracle: the Alembic path (``RLSKIT_NO_FAST_PATH=1``) in a process of its own on a
twin database of another cluster; both compared with pg_dump --schema-only, the
bookkeeping rows, the version row, what each printed and its exit code. A failure
of any kind leaves the express attempt's transaction rolled back and the full path
runs from the start: its message is the one users get.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import psycopg
import pytest

from rlskit.bookkeeping import advisory_key
from rlskit.project import Project

from .conftest import (
    HEAD,
    Database,
    Server,
    fresh_database,
    rlskit_imports,
    upgrade_started,
    write_revision,
)
from .test_engine import _book, _dump, _said, _same

HEAVY = {"psycopg", "click", "alembic", "sqlalchemy"}


@pytest.fixture
def twin(scratch_server: Server) -> object:
    with fresh_database(scratch_server) as db:
        yield db


def _run(project: Path, db: Database, fast: bool) -> tuple[tuple[int, str, str], set[str]]:
    proc, imported = rlskit_imports(
        ["upgrade"], cwd=project, env={"RLSKIT_DATABASE_URL": db.url}, fast=fast
    )
    return (proc.returncode, _said(proc.stdout, db), _said(proc.stderr, db)), imported


def _both(
    project: Path, a: Database, b: Database
) -> tuple[tuple[int, str, str], tuple[int, str, str], set[str]]:
    """``rlskit upgrade``: the console script as shipped on ``a``, the Alembic path on ``b``."""
    ours, imported = _run(project, a, True)
    theirs, _ = _run(project, b, False)
    return ours, theirs, imported


def test_the_reference_schema_from_empty_without_psycopg_or_click(
    project: Path, database: Database, twin: Database
) -> None:
    ours, theirs, imported = _both(project, database, twin)
    assert ours == theirs and ours[0] == 0, (ours, theirs)
    assert f"at {HEAD} (was base)" in ours[1]
    assert not imported & HEAVY, imported & HEAVY  # the express path did it all
    _same(database, twin)
    # and a deploy with nothing left to do, the same way
    ours, theirs, imported = _both(project, database, twin)
    assert ours == theirs and "Nothing to do" in ours[1] and not imported & HEAVY


HOSTILE = (
    "-- verbatim: %I, %s, :name, :'q' and $1 in bodies; no trailing semicolon\n"
    "CREATE TABLE app.ex (id int, note text DEFAULT '50% :name $$');\n"
    "CREATE FUNCTION app.ex_f(t text) RETURNS text LANGUAGE sql IMMUTABLE\n"
    "  AS $body$ SELECT format('%I.%s', t, ':name') $body$;\n"
    "COMMENT ON TABLE app.ex IS 'it''s :x -- not a comment /* nor this */'\n"
)
PLPGSQL = (
    "CREATE FUNCTION app.ex_g() RETURNS int LANGUAGE plpgsql AS $$\n"
    "BEGIN\n  RETURN CASE WHEN true THEN 1 ELSE 0 END;\nEND\n$$;\n"
)


def test_hostile_files_a_stripped_pair_and_plpgsql_from_the_middle(
    project: Path, database: Database, twin: Database
) -> None:
    _both(project, database, twin)
    write_revision(project, "0100", HOSTILE, message="hostile")
    write_revision(project, "0101", PLPGSQL, message="plpgsql")  # parsed before it runs
    write_revision(project, "0102", "BEGIN;\nCREATE TABLE app.t102 (id int);\nCOMMIT;\n")
    ours, theirs, imported = _both(project, database, twin)
    assert ours == theirs and ours[0] == 0, (ours, theirs)
    assert "left out the file's own BEGIN" in ours[1] and f"(was {HEAD})" in ours[1]
    assert not imported & HEAVY
    _same(database, twin)
    with database.connect() as conn:
        row = conn.execute(
            "SELECT note FROM (SELECT column_default AS note FROM "
            "information_schema.columns WHERE table_name = 'ex' "
            "AND column_name = 'note') s"
        ).fetchone()
        assert row is not None and "50% :name $$" in row[0]
        assert conn.execute("SELECT app.ex_f('a')").fetchone() == ("a.:name",)


@pytest.mark.parametrize(
    ("name", "up", "code", "said"),
    [
        ("error", "CREATE TABLE app.bad (id int);\nSELECT 1/0;\n", 1, "sql/0101_x.up.sql:2"),
        ("syntax", "CREATE TABLE app.bad (id int;\n", 1, "sql/0101_x.up.sql:1"),
        ("commit", "CREATE TABLE app.bad (id int);\nCOMMIT;\nSELECT 1;\n", 2, "COMMIT"),
    ],
)
def test_a_failure_rolls_back_and_the_full_path_says_it(
    project: Path, database: Database, twin: Database, name: str, up: str, code: int, said: str
) -> None:
    _both(project, database, twin)
    write_revision(project, "0100", "CREATE TABLE app.ok (id int);\n")
    write_revision(project, "0101", up, message="x")
    before = _dump(database)
    ours, theirs, imported = _both(project, database, twin)
    assert ours == theirs, (ours, theirs)
    assert ours[0] == code and said in ours[2], ours
    assert ours[1].count("Database:") == 1  # the express attempt printed nothing
    assert "psycopg" in imported  # the full path ran after the express attempt rolled back
    assert _dump(database) == before and database.version() == [HEAD]
    _same(database, twin)


def test_an_edited_applied_file_is_refused_the_same_way(
    project: Path, database: Database, twin: Database
) -> None:
    _both(project, database, twin)
    write_revision(project, "0100", "CREATE TABLE app.ok (id int);\n")
    path = next((project / "sql").glob("0002_*.up.sql"))
    path.write_text(path.read_text() + "\nCREATE TABLE app.sneaky (id int);\n")
    ours, theirs, _ = _both(project, database, twin)
    assert ours == theirs and ours[0] == 5, ours
    assert database.version() == [HEAD]


def test_a_held_migration_lock_is_waited_for_by_the_full_path(
    project: Path, database: Database
) -> None:
    ini = project / "alembic.ini"
    ini.write_text(
        re.sub(r"(?m)^migration_lock_wait = .*$", "migration_lock_wait = 1s", ini.read_text())
    )
    key = advisory_key(Project.find(project).settings)
    with database.connect(autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        (code, out, err), imported = _run(project, database, True)
    assert code != 0 and "another upgrade holds the migration lock" in err, (code, out, err)
    assert "psycopg" in imported and "applied" not in out
    assert database.version() == []


def _pending_sleep(project: Path) -> None:
    write_revision(
        project, "0100", "CREATE TABLE app.slow (id int);\nSELECT pg_sleep(60);\n", message="slow"
    )


def _active(db: Database, like: str, deadline: float = 60) -> int:
    """The pid of the first other session running a query like ``like``."""
    stop = time.monotonic() + deadline
    with db.connect(autocommit=True) as conn:
        while time.monotonic() < stop:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE state = 'active' "
                "AND query LIKE %s AND pid <> pg_backend_pid()",
                (like,),
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.02)
    raise AssertionError(f"no session ran {like!r}")


def _lock_free(db: Database, key: int) -> bool:
    with db.connect(autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        conn.execute("SELECT pg_advisory_unlock_all()")
    return bool(row and row[0])


def test_ctrl_c_cancels_the_statement_and_rolls_back(project: Path, database: Database) -> None:
    _run(project, database, True)
    _pending_sleep(project)
    proc = upgrade_started(project, database.url)
    _active(database, "%pg_sleep(60)%")
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10  # cancelled, not waited out
    assert proc.returncode == 130, (out, err)
    assert "Interrupted; the running transaction was rolled back." in err and "applied" not in out
    assert database.version() == [HEAD]
    assert database.scalar("SELECT to_regclass('app.slow')") is None
    assert _lock_free(database, advisory_key(Project.find(project).settings))


def test_a_killed_connection_is_reported_not_retried(project: Path, database: Database) -> None:
    _run(project, database, True)
    _pending_sleep(project)
    proc = upgrade_started(project, database.url)
    pid = _active(database, "%pg_sleep(60)%")
    with database.connect(autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    out, err = proc.communicate(timeout=60)
    said = " ".join(err.split())
    assert proc.returncode == 1 and "The connection to the database was lost" in said, (out, err)
    assert "had not sent COMMIT, so nothing of this upgrade was applied" in said
    assert "applied 0100" not in out
    assert database.version() == [HEAD]
    assert database.scalar("SELECT to_regclass('app.slow')") is None
    with database.connect(autocommit=True) as conn:  # no second attempt was started
        assert conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' "
            "AND pid <> pg_backend_pid()"
        ).fetchone() == (0,)


def test_bookkeeping_rows_match_the_full_path(
    project: Path, database: Database, twin: Database
) -> None:
    """The record of each file (token fingerprint, bytes' hash) is the full path's."""
    _both(project, database, twin)
    assert _book(database) == _book(twin) and len(_book(database)) >= 1
    assert all(
        str(row[2]).startswith("v") and str(row[3]).startswith("sha256:") for row in _book(database)
    )
    with psycopg.connect(database.url) as conn:
        assert conn.execute("SELECT count(*) FROM rlskit.rlskit_applied_files").fetchone()
