"""Versioned SQL migrations against a real server: verbatim SQL, atomicity,
offline scripts, checksums, downgrades, bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project
from rlskit.urls import sqlalchemy_url

from .conftest import HEAD, PREV, REVISIONS, Database, alembic_process, rlskit, write_revision

TRICKY_SQL = """-- comments with :name and %I and $$ in them
/* a block comment; with a semicolon */
CREATE TABLE tricky (id int PRIMARY KEY, note text, at text);
INSERT INTO tricky VALUES (1, '12:30 :name', format('%I', 'Mixed Case'));
INSERT INTO tricky VALUES (2, $q$it's ; a $$dollar$$ body$q$, '5'::int::text);
CREATE FUNCTION tricky_fn(x int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    -- a ; inside a body
    RETURN x + 1;
END
$$;
DO $$ BEGIN PERFORM tricky_fn(1); INSERT INTO tricky VALUES (3, ':x', E'tab\\there'); END $$;
CREATE FUNCTION tricky_atomic() RETURNS int LANGUAGE sql
BEGIN ATOMIC
    SELECT 1;
END;
INSERT INTO tricky VALUES (4, '%s %(name)s', 'no trailing semicolon')"""


def _tricky_project(project: Path) -> None:
    write_revision(
        project,
        "0100",
        TRICKY_SQL,
        "DROP FUNCTION tricky_atomic(); DROP FUNCTION tricky_fn(int); DROP TABLE tricky;",
        message="tricky",
    )


def _rows(db: Database) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        return conn.execute("SELECT * FROM tricky ORDER BY id").fetchall()


def test_reference_schema_upgrades_and_reports(project: Path, database: Database) -> None:
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.output
    assert "applied 0001 sql/0001_roles.up.sql" in res.output
    assert "OK: upgrade ran" in res.output
    assert database.version() == [commands.history(Project.find(project))[-1].revision]
    # The password of the URL never shows.
    assert database.server.embedded._load().password not in res.output  # type: ignore[union-attr]
    again = rlskit("upgrade", project=project, url=database.url)
    assert again.exit_code == 0 and "Nothing to do" in again.output


def test_raw_sql_runs_verbatim_online(project: Path, database: Database) -> None:
    _tricky_project(project)
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.output
    assert _rows(database) == [
        (1, "12:30 :name", '"Mixed Case"'),
        (2, "it's ; a $$dollar$$ body", "5"),
        (3, ":x", "tab\there"),
        (4, "%s %(name)s", "no trailing semicolon"),
    ]


def test_offline_script_gives_the_same_database(
    project: Path, database: Database, tmp_path: Path
) -> None:
    _tricky_project(project)
    online = rlskit("upgrade", project=project, url=database.url)
    assert online.exit_code == 0, online.output
    snap_online = database.snapshot()
    rows_online = _rows(database)
    book_online = _book(database)
    version_online = database.version()
    # Roles are cluster-wide: take the online database back to base first.
    down = rlskit("downgrade", "base", "--yes", project=project, url=database.url)
    assert down.exit_code == 0, down.output

    res = rlskit("upgrade", "--sql", project=project)
    assert res.exit_code == 0, res.output
    script = tmp_path / "upgrade.sql"
    script.write_text(res.output)
    other = database.server.url(database.name + "_off")
    with database.server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{database.name}_off"')
    try:
        proc = subprocess.run(
            [database.server.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), other],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        off = Database(database.server, database.name + "_off")
        assert off.snapshot().diff(snap_online) == []
        assert _rows(off) == rows_online
        assert _book(off) == book_online
        assert off.version() == version_online
    finally:
        with database.server.admin() as conn:
            conn.execute(f'DROP DATABASE "{database.name}_off" WITH (FORCE)')


def _book(db: Database) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        return conn.execute(
            "SELECT revision, path, checksum FROM rlskit.rlskit_applied_files ORDER BY revision"
        ).fetchall()


def _three_pending_third_fails(project: Path) -> None:
    write_revision(
        project,
        "0100",
        "CREATE ROLE extra_one NOLOGIN;\nCREATE TABLE one (id int);",
        "DROP TABLE one; DROP ROLE extra_one;",
        message="first",
    )
    write_revision(
        project,
        "0101",
        "ALTER TABLE one ENABLE ROW LEVEL SECURITY;\n"
        "CREATE POLICY p ON one TO extra_one USING (true);",
        "DROP POLICY p ON one; ALTER TABLE one DISABLE ROW LEVEL SECURITY;",
        message="second",
    )
    write_revision(
        project,
        "0102",
        "GRANT SELECT ON one TO extra_one;\n\n"
        "-- the mistake is on line 4\n"
        "GRANT SELECT ON one TO no_such_role;\n"
        "CREATE TABLE never (id int);",
        "",
        message="third",
    )


def test_failure_in_third_file_leaves_database_exactly_as_before(
    project: Path, database: Database
) -> None:
    # Start at the reference schema's head, then add three pending revisions.
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    before = database.snapshot()
    version_before = database.version()
    book_before = _book(database)
    _three_pending_third_fails(project)
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 1
    err = res.stderr
    assert "sql/0102_third.up.sql:4" in err
    assert "GRANT SELECT ON one TO no_such_role" in err
    assert 'role "no_such_role" does not exist' in err
    assert "rolled back" in err
    assert "Traceback" not in res.output + err
    assert database.snapshot().diff(before) == []
    assert database.version() == version_before
    assert _book(database) == book_before


def test_per_revision_stops_at_last_good_revision(project: Path, database: Database) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    _three_pending_third_fails(project)
    res = rlskit("upgrade", "--per-revision", project=project, url=database.url)
    assert res.exit_code == 1
    assert "0102" in res.stderr and "stay applied" in res.stderr
    assert database.version() == ["0101"]
    assert database.scalar("SELECT count(*) FROM pg_policies WHERE tablename = 'one'") == 1
    assert database.scalar("SELECT to_regclass('never')") is None


def test_no_transaction_revision_is_explicit(project: Path, database: Database) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    write_revision(
        project,
        "0100",
        "-- rlskit: no-transaction\n"
        "CREATE INDEX CONCURRENTLY customers_email_idx ON app.customers (email);\n"
        "CREATE INDEX CONCURRENTLY customers_name_idx ON app.customers (name);",
        "-- rlskit: no-transaction\nDROP INDEX CONCURRENTLY app.customers_email_idx;\n"
        "DROP INDEX CONCURRENTLY app.customers_name_idx;",
        message="concurrent index",
    )
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 2
    assert "no-transaction" in res.stderr and "--per-revision" in res.stderr
    assert database.scalar("SELECT to_regclass('app.customers_email_idx')") is None
    res = rlskit("upgrade", "--per-revision", project=project, url=database.url)
    assert res.exit_code == 0, res.output + res.stderr
    assert (
        database.scalar("SELECT to_regclass('app.customers_name_idx')::text")
        == "app.customers_name_idx"
    )
    res = rlskit("downgrade", "-1", "--per-revision", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert database.scalar("SELECT to_regclass('app.customers_email_idx')") is None


def test_downgrade_of_every_revision_restores_the_catalog(
    project: Path, database: Database
) -> None:
    revisions = [i.revision for i in commands.history(Project.find(project))]
    assert len(revisions) >= 3
    for rev in revisions:
        before = database.snapshot()
        assert rlskit("upgrade", rev, project=project, url=database.url).exit_code == 0
        assert database.snapshot() != before, f"revision {rev} changed nothing"
        down = rlskit("downgrade", "-1", "--yes", project=project, url=database.url)
        assert down.exit_code == 0, down.output
        assert database.snapshot().diff(before) == [], f"downgrade of {rev} left changes"
        assert rlskit("upgrade", rev, project=project, url=database.url).exit_code == 0


def test_checksums_refuse_edited_applied_files(project: Path, database: Database) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    path = project / "sql" / "0002_tenancy.up.sql"
    original = path.read_text()
    # Whitespace and line endings only: not a change.
    path.write_bytes(("\ufeff" + original.replace("\n", "  \r\n")).encode())
    ok = rlskit("upgrade", project=project, url=database.url)
    assert ok.exit_code == 0, ok.stderr
    # A real edit: refused, naming the file and what to do.
    path.write_text(
        original.replace(
            "GRANT SELECT (id, name) ON app.organisations", "GRANT SELECT (id) ON app.organisations"
        )
    )
    write_revision(
        project,
        "0100",
        "CREATE TABLE after_edit (id int);",
        "DROP TABLE after_edit;",
        message="after edit",
    )
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 5
    assert "sql/0002_tenancy.up.sql was edited after it was applied" in res.stderr
    assert "rlskit repair" in res.stderr and "rlskit new" in res.stderr
    assert database.scalar("SELECT to_regclass('after_edit')") is None
    status = rlskit("status", project=project, url=database.url)
    assert status.exit_code == 5 and "EDITED" in status.output
    # A string constant's inner whitespace is content, not formatting.
    assert rlskit("repair", "--yes", project=project, url=database.url).exit_code == 0
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert database.scalar("SELECT to_regclass('after_edit')::text") == "after_edit"


def test_status_history_current_plan(project: Path, database: Database) -> None:
    res = rlskit("status", "--format", "json", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert '"applied": false' in res.output and "sql/0001_roles.up.sql" in res.output
    plan = rlskit("plan", project=project, url=database.url)
    assert plan.exit_code == 0 and "CREATE ROLE app_login" in plan.output
    assert database.version() == []  # plan applies nothing
    assert rlskit("upgrade", "0001", project=project, url=database.url).exit_code == 0
    plan = rlskit("plan", project=project, url=database.url)
    assert "CREATE ROLE app_login" not in plan.output and "app.customers" in plan.output
    cur = rlskit("current", project=project, url=database.url)
    assert cur.output.strip() == "0001"
    hist = rlskit("history", project=project)
    assert "0001" in hist.output and "sql/0002_tenancy.up.sql" in hist.output
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    assert "nothing pending" in rlskit("plan", project=project, url=database.url).output


def test_plain_alembic_works_on_the_same_project(project: Path, database: Database) -> None:
    env = {"RLSKIT_DATABASE_URL": database.url}
    up = alembic_process("upgrade", "head", cwd=project, env=env)
    assert up.returncode == 0, up.stderr
    assert f"applied {HEAD}" in up.stderr
    cur = alembic_process("current", cwd=project, env=env)
    assert HEAD in cur.stdout
    down = alembic_process("downgrade", "-1", cwd=project, env=env)
    assert down.returncode == 0, down.stderr
    assert database.version() == [PREV]
    # -x url= works too, and rlskit sees what alembic did.
    up = alembic_process("-x", f"url={database.url}", "upgrade", "head", cwd=project)
    assert up.returncode == 0, up.stderr
    assert rlskit("current", project=project, url=database.url).output.strip() == HEAD
    # A failure under plain alembic is a one-paragraph message, not a traceback.
    write_revision(project, "0100", "SELECT 1/0;", "", message="boom")
    bad = alembic_process("upgrade", "head", cwd=project, env=env)
    assert bad.returncode != 0
    assert "sql/0100_boom.up.sql:1" in bad.stderr and "division by zero" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_connection_from_config_attributes(project: Path, database: Database) -> None:
    """Alembic's cookbook pattern (pytest-alembic, application test suites)."""
    from alembic import command
    from alembic.config import Config

    engine = create_engine(sqlalchemy_url(database.url), poolclass=NullPool)
    cfg = Config(str(project / "alembic.ini"))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    assert database.version() == [HEAD]
    # The caller's transaction owns the work: roll it back and nothing stays.
    with engine.connect() as connection:
        trans = connection.begin()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")
        assert (
            connection.exec_driver_sql("SELECT count(*) FROM rlskit.alembic_version").scalar() == 0
        )
        trans.rollback()
    assert database.version() == [HEAD]
    engine.dispose()


def test_commands_api_without_click(project: Path, database: Database) -> None:
    proj = Project.find(project)
    result = commands.upgrade(proj, "head", RunOptions(url=database.url))
    assert [e.data["revision"] for e in result.revisions] == REVISIONS
    assert commands.current(proj, RunOptions(url=database.url)) == (HEAD,)
