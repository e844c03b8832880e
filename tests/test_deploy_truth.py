"""Issue 11: every promise of `upgrade` holds on migration files the suite did not
write (transaction control in files, session settings, no-transaction revisions,
checksums and comments, bookkeeping privileges, offline deploys). Real server;
the oracles are the catalog, psql, and has_table_privilege, not rlskit's output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlskit.sqlfile import SqlFile

from .conftest import (
    HEAD,
    PREV,
    REPO,
    REVISIONS,
    Database,
    Server,
    alembic_process,
    rlskit,
    write_revision,
)


def _psql(db_url: str, server: Server, script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [server.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), db_url],
        capture_output=True,
        text=True,
        check=False,
    )


def _book(db: Database) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        return conn.execute(
            "SELECT revision, path, checksum FROM rlskit.rlskit_applied_files ORDER BY revision"
        ).fetchall()


# -- case 1: transaction control inside a file ----------------------------------------
@pytest.mark.parametrize("per_revision", [False, True])
def test_commit_in_a_file_is_refused_before_anything_runs(
    project: Path, database: Database, per_revision: bool
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    write_revision(project, "0100", "CREATE TABLE app.first (id int);", message="first")
    write_revision(
        project,
        "0101",
        "BEGIN;\nCREATE TABLE app.c1(id int);\nCOMMIT;\nSELECT 1/0;\n",
        message="x",
    )
    args = ["upgrade", "--per-revision"] if per_revision else ["upgrade"]
    res = rlskit(*args, project=project, url=database.url)
    assert res.exit_code == 2, res.output
    assert "sql/0101_x.up.sql:1:" in res.stderr and "BEGIN" in res.stderr
    assert "nothing was changed" in res.stderr and "rolled back" not in res.stderr
    assert database.scalar("SELECT to_regclass('app.c1')") is None
    assert database.scalar("SELECT to_regclass('app.first')") is None
    assert database.version() == [HEAD]


def test_leading_begin_and_trailing_commit_are_left_out_and_said(
    project: Path, database: Database, tmp_path: Path
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    supabase_style = "begin;\n\ncreate table app.c2 (id int);\n\ncommit;\n"
    write_revision(project, "0100", supabase_style, "drop table app.c2;", message="supa")
    write_revision(project, "0101", "SELECT 1/0;", message="boom")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 1
    # atomic: the stripped file's table went with the failure, and that was verified
    assert database.scalar("SELECT to_regclass('app.c2')") is None
    assert f"rolled back: the database is at {HEAD}, as before" in res.stderr
    (project / "sql" / "0101_boom.up.sql").write_text("SELECT 1;")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert "left out the file's own BEGIN (line 1) and COMMIT (line 5)" in res.output
    assert database.scalar("SELECT to_regclass('app.c2')::text") == "app.c2"
    # offline, the pair is left out too: the script runs in one transaction under psql
    script = rlskit("upgrade", "--sql", f"{HEAD}:head", project=project)
    assert script.exit_code == 0, script.stderr
    assert "\nbegin;" not in script.output and "\ncommit;" not in script.output
    assert rlskit("downgrade", HEAD, project=project, url=database.url).exit_code == 0
    assert database.scalar("SELECT to_regclass('app.c2')") is None
    path = tmp_path / "deploy.sql"
    path.write_text(script.output)
    proc = _psql(database.url, database.server, path)
    assert proc.returncode == 0, proc.stderr
    assert database.scalar("SELECT to_regclass('app.c2')::text") == "app.c2"
    assert database.version() == ["0101"]


def test_plain_alembic_refuses_it_too(project: Path, database: Database) -> None:
    write_revision(project, "0100", "SELECT 1;\nROLLBACK;\nCREATE TABLE app.after (id int);")
    env = {"RLSKIT_DATABASE_URL": database.url}
    res = alembic_process("upgrade", "head", cwd=project, env=env)
    assert res.returncode != 0
    assert "sql/0100_test.up.sql:2" in res.stderr and "ROLLBACK" in res.stderr
    assert database.version() == []
    assert database.scalar("SELECT to_regclass('app.customers')") is None


def test_a_transaction_ended_by_a_statement_is_reported_not_called_rolled_back(
    project: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Belt and braces: were the splitter ever to miss a COMMIT, the runtime sees its
    transaction end after that statement and says so instead of claiming a rollback."""
    from rlskit import pgsql

    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    monkeypatch.setattr(pgsql, "transaction_control", lambda statement: None)
    write_revision(project, "0100", "CREATE TABLE app.c3 (id int);\nCOMMIT;\nSELECT 1/0;\n")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 1
    err = " ".join(res.stderr.split())
    assert "sql/0100_test.up.sql:2 (COMMIT) ended the transaction" in err
    assert "rolled back" not in err and "rlskit status" in err
    # what the message warned about is what happened
    assert database.scalar("SELECT to_regclass('app.c3')::text") == "app.c3"


# -- case 2: every revision starts from the same session state -------------------------
LEAKY = (
    "CREATE TABLE app.a100 (id int);\n"
    "SET LOCAL check_function_bodies = off;\n"
    "SET LOCAL row_security = off;\n"
    "SET search_path = app, public;\n"
    "SET LOCAL ROLE app_admin;\n"
)
SEEN = (
    "CREATE TABLE app.seen AS SELECT current_setting('row_security') AS rs, "
    "current_setting('check_function_bodies') AS cfb, current_setting('search_path') AS sp, "
    "current_user::text AS cu, current_setting('lock_timeout') AS lt;\n"
)
BROKEN = (
    "CREATE FUNCTION app.broken() RETURNS int LANGUAGE plpgsql AS $$\n"
    "BEGIN\n  RETURN 1 +;\nEND $$;\n"
)


def _seen(db: Database) -> object:
    with db.connect() as conn:
        return conn.execute("SELECT rs, cfb, sp, cu, lt FROM app.seen").fetchone()


def test_session_settings_do_not_leak_into_later_revisions(
    project: Path, database: Database, tmp_path: Path
) -> None:
    write_revision(project, "0100", LEAKY, "DROP TABLE app.a100;", message="leaky")
    write_revision(project, "0101", SEEN, "DROP TABLE app.seen;", message="seen")
    # all at once, on a fresh database
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    at_once = _seen(database)
    assert at_once is not None and at_once[0] == "on" and at_once[1] == "on"  # type: ignore[index]
    # A applied earlier, B later
    assert rlskit("downgrade", "0100", "--yes", project=project, url=database.url).exit_code == 0
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    assert _seen(database) == at_once
    # offline (psql), from base
    assert rlskit("downgrade", "base", "--yes", project=project, url=database.url).exit_code == 0
    script = tmp_path / "up.sql"
    out = rlskit("upgrade", "--sql", project=project)
    assert out.exit_code == 0, out.stderr
    script.write_text(out.output)
    proc = _psql(database.url, database.server, script)
    assert proc.returncode == 0, proc.stderr
    assert _seen(database) == at_once


def test_broken_function_fails_the_same_on_fresh_and_existing_databases(
    project: Path, database: Database
) -> None:
    write_revision(project, "0100", LEAKY, "DROP TABLE app.a100;", message="leaky")
    write_revision(project, "0101", BROKEN, "DROP FUNCTION app.broken();", message="broken")
    fresh = rlskit("upgrade", project=project, url=database.url)
    assert fresh.exit_code == 1, fresh.output
    assert database.scalar("SELECT to_regprocedure('app.broken()')") is None
    assert rlskit("upgrade", "0100", project=project, url=database.url).exit_code == 0
    later = rlskit("upgrade", project=project, url=database.url)
    assert later.exit_code == 1
    assert "sql/0101_broken.up.sql:" in fresh.stderr
    first = fresh.stderr.split(" [SQLSTATE")[0].split("Error: ")[-1]
    assert first == later.stderr.split(" [SQLSTATE")[0].split("Error: ")[-1]
    assert database.scalar("SELECT to_regprocedure('app.broken()')") is None


# -- case 3: no-transaction revisions -----------------------------------------------
NO_TX = (
    "-- rlskit: no-transaction\n"
    "CREATE INDEX CONCURRENTLY customers_name_idx ON app.customers (name);\n"
    "CREATE INDEX CONCURRENTLY customers_bad_idx ON app.customers (no_such_column);\n"
)


def test_no_transaction_failure_says_exactly_what_was_committed(
    project: Path, database: Database
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    write_revision(project, "0100", NO_TX, message="concurrent")
    res = rlskit("upgrade", "--per-revision", project=project, url=database.url)
    assert res.exit_code == 1
    err = " ".join(res.stderr.split())
    assert "sql/0100_concurrent.up.sql:3" in err
    assert "1 of its 2 statement(s) before the failing one were committed" in err
    assert "sql/0100_concurrent.up.sql:2 (CREATE INDEX CONCURRENTLY customers_name_idx" in err
    assert "was rolled back" not in err and "as it was before" not in err
    assert "IF NOT EXISTS" in err
    # the oracle: the first index is there, the revision is not recorded
    assert database.scalar("SELECT to_regclass('app.customers_name_idx')") is not None
    assert database.version() == [HEAD]


def _no_tx_project(project: Path) -> None:
    write_revision(
        project,
        "0100",
        "-- rlskit: no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_name_idx ON app.customers (name);\n",
        "-- rlskit: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS app.customers_name_idx;\n",
        message="concurrent",
    )
    write_revision(project, "0101", "CREATE TABLE app.after_idx (id int);", message="after")


def test_tools_work_on_a_project_with_a_no_transaction_revision(
    project: Path, database: Database, scratch_server: Server, tmp_path: Path
) -> None:
    _no_tx_project(project)
    shutil_copy_rls(project)
    scratch = scratch_server.url("postgres")
    lint = rlskit("lint", "--format", "json", project=project, url=scratch)
    assert lint.exit_code in (0, 1) and "no-transaction" not in lint.stderr, lint.stderr
    assert "Traceback" not in lint.output
    test = rlskit("test", project=project, url=scratch)
    assert test.exit_code == 0, test.output + test.stderr
    offline = rlskit("upgrade", "--sql", project=project)
    assert offline.exit_code == 0, offline.stderr
    script = tmp_path / "up.sql"
    script.write_text(offline.output)
    proc = _psql(database.url, database.server, script)
    assert proc.returncode == 0, proc.stderr
    assert database.version() == ["0101"]
    assert database.scalar("SELECT to_regclass('app.customers_name_idx')") is not None
    drift = rlskit("drift", "--scratch-url", scratch, project=project, url=database.url)
    assert drift.exit_code == 0, drift.output + drift.stderr
    # the pytest plugin
    tests = project / "app_tests"
    tests.mkdir()
    (tests / "test_app.py").write_text(
        "def test_migrated(rlskit_connection):\n"
        "    q = \"SELECT to_regclass('app.after_idx') IS NOT NULL\"\n"
        "    assert rlskit_connection.execute(q).fetchone()[0]\n"
    )
    env = {**os.environ, "RLSKIT_TEST_SERVER_URL": scratch}
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("-o", f"rlskit_project={project}", "--rootdir", str(project), str(tests)),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def shutil_copy_rls(project: Path) -> None:
    import shutil

    shutil.copytree(REPO / "tests" / "rls", project / "tests" / "rls")


def test_moving_the_marker_is_an_edit(project: Path, database: Database) -> None:
    _no_tx_project(project)
    res = rlskit("upgrade", "--per-revision", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    path = project / "sql" / "0100_concurrent.up.sql"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[1:], lines[0]]) + "\n")  # marker now after the statement
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 5 and "0100_concurrent.up.sql was edited" in res.stderr


# -- case 4: comments are not edits, directives are ----------------------------------
def test_comments_in_applied_files_do_not_block_deploys(project: Path, database: Database) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    path = project / "sql" / "0002_tenancy.up.sql"
    text = path.read_text()
    first = text.index(";") + 1
    path.write_text(
        "-- reviewed 2026-11: fine\n"
        + text[:first]
        + " -- rlskit: ignore RLS004\n/* a block comment */"
        + text[first:]
    )
    write_revision(project, "0100", "CREATE TABLE app.later (id int);", message="later")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    status = rlskit("status", project=project, url=database.url)
    assert status.exit_code == 0 and "EDITED" not in status.output


def test_v1_records_are_compared_as_v1_and_rewritten_as_v2(
    project: Path, database: Database
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    # Make the records what an earlier rlskit stored: v1 checksums.
    with database.connect() as conn:
        for rev, path, _ in _book(database):
            v1 = SqlFile.load(project / str(path), str(path)).checksum_as("v1")
            conn.execute(
                "UPDATE rlskit.rlskit_applied_files SET checksum = %s WHERE revision = %s",
                (v1, rev),
            )
    assert all(str(c).startswith("v1:") for _, _, c in _book(database))
    assert rlskit("status", project=project, url=database.url).exit_code == 0
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert all(str(c).startswith("v2:") for _, _, c in _book(database))
    # and a real edit under a v1 record is still an edit
    with database.connect() as conn:
        conn.execute(
            "UPDATE rlskit.rlskit_applied_files SET checksum = %s WHERE revision = '0002'",
            (SqlFile.load(project / "sql/0002_tenancy.up.sql", "x").checksum_as("v1"),),
        )
    path = project / "sql" / "0002_tenancy.up.sql"
    path.write_text(path.read_text() + "\nSELECT 1;\n")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 5 and "0002_tenancy.up.sql was edited" in res.stderr


# -- case 9: bookkeeping in its own schema, no privileges for anyone else --------------
GRANT_ALL = "GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC;\n"


def test_bookkeeping_lives_in_its_own_schema_without_public_access(
    project: Path, database: Database
) -> None:
    write_revision(project, "0100", GRANT_ALL, message="grant all")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    for table in ("rlskit.alembic_version", "rlskit.rlskit_applied_files"):
        for priv in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"):
            assert (
                database.scalar("SELECT has_table_privilege('app_user', %s, %s)", table, priv)
                is False
            )
        assert database.scalar(
            "SELECT relacl IS NULL FROM pg_class WHERE oid = %s::regclass", table
        )
    assert database.scalar("SELECT has_schema_privilege('app_user', 'rlskit', 'USAGE')") is False
    assert database.scalar("SELECT to_regclass('public.alembic_version')") is None
    assert database.version() == ["0100"]


def test_old_layout_is_moved_on_the_next_upgrade(project: Path, database: Database) -> None:
    # The layout of an earlier rlskit: both tables in public.
    assert rlskit("upgrade", PREV, project=project, url=database.url).exit_code == 0
    book = _book(database)
    with database.connect() as conn:
        conn.execute("ALTER TABLE rlskit.alembic_version SET SCHEMA public")
        conn.execute("ALTER TABLE rlskit.rlskit_applied_files SET SCHEMA public")
        conn.execute("GRANT UPDATE ON public.alembic_version TO PUBLIC")
        conn.execute("DROP SCHEMA rlskit")
    # reading commands see it where it is
    cur = rlskit("current", project=project, url=database.url)
    assert cur.output.strip() == PREV
    status = rlskit("status", project=project, url=database.url)
    assert status.exit_code == 0 and "EDITED" not in status.output
    assert f"{len(REVISIONS) - 1} applied, 1 pending" in status.output
    write_revision(project, "0100", GRANT_ALL, message="grant all")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert database.scalar("SELECT to_regclass('public.alembic_version')") is None
    assert database.scalar("SELECT to_regclass('public.rlskit_applied_files')") is None
    assert database.version() == ["0100"]
    assert _book(database)[: len(book)] == book
    assert (
        database.scalar("SELECT has_table_privilege('public', 'rlskit.alembic_version', 'UPDATE')")
        is False
    )


def _only_revision(project: Path, up: str) -> None:
    """Replace the reference revisions by one revision with ``up``."""
    for p in (project / "migrations" / "versions").glob("0*.py"):
        p.unlink()
    write_revision(project, "0001", up, "", down_revision=None, message="only")


def test_grant_all_as_table_owner_role_does_not_hit_bookkeeping(
    project: Path, database: Database
) -> None:
    """A migrating role that owns the app's tables but not the database's others."""
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE deployer LOGIN PASSWORD 'pw' CREATEROLE")
        conn.execute(f'GRANT CREATE ON DATABASE "{database.name}" TO deployer')
        conn.execute(f'ALTER DATABASE "{database.name}" OWNER TO deployer')
        conn.execute("ALTER SCHEMA public OWNER TO deployer")
    url = database.server.url(database.name, user="deployer", password="pw")
    _only_revision(project, "CREATE TABLE t (id int);\n" + GRANT_ALL)
    res = rlskit("upgrade", project=project, url=url)
    assert res.exit_code == 0, res.stderr
    assert database.scalar("SELECT has_table_privilege('public', 't', 'SELECT')") is True
    assert (
        database.scalar("SELECT has_table_privilege('public', 'rlskit.alembic_version', 'UPDATE')")
        is False
    )


def test_supabase_style_database_anon_cannot_touch_bookkeeping(
    project: Path, database: Database, tmp_path: Path
) -> None:
    stub = Path("/work/shared/corpus/00_supabase_stub.sql")
    if not stub.is_file():
        pytest.skip("the Supabase stub is not available")
    proc = _psql(database.url, database.server, stub)
    assert proc.returncode == 0, proc.stderr
    with database.connect(autocommit=True) as conn:  # the platform's defaults for every schema
        conn.execute("ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO anon")
    _only_revision(project, "CREATE TABLE public.todos (id int);\n" + GRANT_ALL)
    try:
        res = rlskit("upgrade", project=project, url=database.url)
        assert res.exit_code == 0, res.stderr
        for table in ("rlskit.alembic_version", "rlskit.rlskit_applied_files"):
            for priv in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                for role in ("anon", "authenticated"):
                    assert (
                        database.scalar("SELECT has_table_privilege(%s, %s, %s)", role, table, priv)
                        is False
                    ), (role, table, priv)
    finally:
        with database.connect(autocommit=True) as conn:
            conn.execute("ALTER DEFAULT PRIVILEGES REVOKE ALL ON TABLES FROM anon")


def test_plain_alembic_uses_the_bookkeeping_schema(project: Path, database: Database) -> None:
    env = {"RLSKIT_DATABASE_URL": database.url}
    up = alembic_process("upgrade", "head", cwd=project, env=env)
    assert up.returncode == 0, up.stderr
    assert database.scalar("SELECT count(*) FROM rlskit.alembic_version") == 1
    assert alembic_process("current", cwd=project, env=env).stdout.strip().startswith(HEAD)
    off = alembic_process("upgrade", "head", "--sql", cwd=project, env=env)
    assert off.returncode == 0, off.stderr
    assert "CREATE SCHEMA IF NOT EXISTS" in off.stdout


# -- case 11: offline deploys of an existing database ---------------------------------
def _schema_dump(db: Database) -> list[str]:
    proc = subprocess.run(
        [db.server.embedded.tool("pg_dump"), "--schema-only", "--no-comments", db.url],
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        line
        for line in proc.stdout.splitlines()
        if not line.startswith(("\\restrict", "\\unrestrict", "-- Dumped"))
    ]


def test_offline_from_to_on_an_existing_database(
    project: Path, database: Database, tmp_path: Path
) -> None:
    # online reference: PREV -> HEAD
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    online = database.snapshot()
    dump_online = _schema_dump(database)
    assert any("CREATE TABLE app.customers" in line for line in dump_online)
    book_online = _book(database)
    assert rlskit("downgrade", PREV, project=project, url=database.url).exit_code == 0
    # the README's plain script is refused by the database, naming what to do
    plain = tmp_path / "plain.sql"
    plain.write_text(rlskit("upgrade", "--sql", project=project).output)
    proc = _psql(database.url, database.server, plain)
    assert proc.returncode != 0
    assert f"starts at revision base, but the database is at {PREV}" in proc.stderr
    assert "rlskit upgrade --sql FROM:TO" in proc.stderr
    assert database.version() == [PREV]
    # FROM:TO reaches TO with the catalog of the online upgrade
    res = rlskit("upgrade", "--sql", f"{PREV}:head", project=project)
    assert res.exit_code == 0, res.stderr
    script = tmp_path / "deploy.sql"
    script.write_text(res.output)
    proc = _psql(database.url, database.server, script)
    assert proc.returncode == 0, proc.stderr
    assert database.version() == [HEAD]
    assert database.snapshot().diff(online) == []
    assert _schema_dump(database) == dump_online  # pg_dump as the independent oracle
    assert [(r, p) for r, p, _ in _book(database)] == [(r, p) for r, p, _ in book_online]
    # run again: the database is no longer at FROM, and nothing changes
    proc = _psql(database.url, database.server, script)
    assert proc.returncode != 0 and f"starts at revision {PREV}" in proc.stderr
    assert database.version() == [HEAD]


def test_offline_script_is_idempotent_about_bookkeeping(
    project: Path, database: Database, tmp_path: Path
) -> None:
    # Bookkeeping exists but the database is at base (downgraded): the plain script works.
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    assert rlskit("downgrade", "base", "--yes", project=project, url=database.url).exit_code == 0
    script = tmp_path / "up.sql"
    script.write_text(rlskit("upgrade", "--sql", project=project).output)
    proc = _psql(database.url, database.server, script)
    assert proc.returncode == 0, proc.stderr
    assert database.version() == [HEAD]
