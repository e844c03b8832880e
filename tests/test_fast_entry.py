"""Issue 15: the console script answers a deploy with nothing to do, and ``status``,
before click, psycopg, Alembic or SQLAlchemy load (:mod:`rlskit.entry`, libpq
through ctypes). Oracle: the same command line through the full path
(``RLSKIT_NO_FAST_PATH=1``) prints the same bytes and exits the same; the process's
own import log shows what loaded."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rlskit import entry, libpq
from rlskit.embedded import EmbeddedServer

from .conftest import HEAD, Database, rlskit, rlskit_imports, rlskit_process, write_revision

HEAVY = {"click", "psycopg", "alembic", "sqlalchemy", "pglast"}


def test_libpq_of_the_binary_wheel_is_found() -> None:
    assert libpq.available()


@pytest.mark.parametrize(
    "argv",
    [["upgrade"], ["upgrade", "head"], ["-p", "{p}", "upgrade"], ["--project={p}", "status"]],
)
def test_noop_and_status_answer_without_heavy_imports_and_print_what_the_full_path_prints(
    project: Path, database: Database, argv: list[str]
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    args = [a.replace("{p}", str(project)) for a in argv]
    env = {"RLSKIT_DATABASE_URL": database.url}
    fast, imported = rlskit_imports(args, project, env)
    full, full_imported = rlskit_imports(args, project, env, fast=False)
    assert fast.returncode == full.returncode == 0, fast.stderr + full.stderr
    assert (fast.stdout, fast.stderr) == (full.stdout, full.stderr)
    assert not HEAVY & imported, HEAVY & imported
    assert "click" in full_imported  # the oracle really took the other way
    if "upgrade" in args:
        assert fast.stdout.endswith(f"Nothing to do: at {HEAD} (was {HEAD}).\n")
    assert database.url.split("@")[0].rsplit(":", 1)[1] not in fast.stdout  # no password


def test_a_status_with_hostile_messages_and_a_missing_down_file_matches_the_full_path(
    project: Path, database: Database
) -> None:
    write_revision(project, "9001", "SELECT 1;\n", message="bell\x07 esc\x1b[2K rtl\u202e")
    down = next((project / "sql").glob("9001_*.down.sql"))
    down.unlink()
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    env = {"RLSKIT_DATABASE_URL": database.url}
    fast, imported = rlskit_imports(["status"], project, env)
    full, _ = rlskit_imports(["status"], project, env, fast=False)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        full.returncode,
        full.stdout,
        full.stderr,
    )
    assert "\x1b" not in fast.stdout and "\\x1b" in fast.stdout
    assert "without a .down.sql" in fast.stdout and "missing:" in fast.stderr
    assert not HEAVY & imported


def test_anything_to_do_or_to_doubt_takes_the_full_path(project: Path, database: Database) -> None:
    env = {"RLSKIT_DATABASE_URL": database.url}
    first, imported = rlskit_imports(["upgrade"], project, env)  # pending: rlskit.express
    assert first.returncode == 0 and "upgrade ran" in first.stdout, first.stderr
    assert not {"click", "psycopg", "alembic", "sqlalchemy"} & imported
    write_revision(project, "0100", "SELECT 1/0;\n")  # fails: the full path says where
    failed, imported = rlskit_imports(["upgrade"], project, env)
    assert failed.returncode == 1 and "sql/0100_test.up.sql:1" in failed.stderr
    assert "click" in imported and "psycopg" in imported
    assert not {"alembic", "sqlalchemy"} & imported  # a plain linear project: rlskit.engine
    (project / "sql" / "0100_test.up.sql").write_text("SELECT 1;\n")
    path = next((project / "sql").glob("0002_*.up.sql"))
    path.write_text(path.read_text() + "\nCREATE TABLE app.sneaky (id int);\n")
    edited, imported = rlskit_imports(["upgrade"], project, env)
    assert edited.returncode == 5 and "was edited" in edited.stderr
    assert "click" in imported
    bad, _ = rlskit_imports(
        ["upgrade"], project, {"RLSKIT_DATABASE_URL": database.url + "_missing"}
    )
    assert bad.returncode != 0 and "does not exist" in bad.stderr
    assert "_missing" in bad.stderr and database.url.split("@")[0] not in bad.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["upgrade", "-1"],
        ["upgrade", "--sql"],
        ["--url", "postgresql://x@h/d", "upgrade"],
        ["-p"],
        ["-p", "a", "-p", "b", "upgrade"],
        ["-p=a", "upgrade"],
        ["--project=", "upgrade"],
        ["status", "--check"],
        ["status", "--format", "json"],
        ["upgrade", "head", "extra"],
        ["downgrade", "base"],
        [],
    ],
)
def test_other_command_lines_are_left_to_click(argv: list[str]) -> None:
    assert entry._parse(argv) is None


def test_the_embedded_server_no_op_is_fast_only_while_it_runs(project: Path) -> None:
    server = EmbeddedServer(project / ".rlskit" / "pg")
    try:
        res = rlskit_process("upgrade", cwd=project)  # starts the embedded server
        assert res.returncode == 0, res.stderr
        fast, imported = rlskit_imports(["upgrade"], project, {})
        full, _ = rlskit_imports(["upgrade"], project, {}, fast=False)
        assert (fast.returncode, fast.stdout, fast.stderr) == (0, full.stdout, full.stderr)
        assert "(embedded)" in fast.stdout and not HEAVY & imported
        server.stop()
        assert server.running_url() is None
        again, imported = rlskit_imports(["upgrade"], project, {})  # the full path starts it again
        assert again.returncode == 0 and "Nothing to do" in again.stdout, again.stderr
        assert "click" in imported
    finally:
        server.destroy()


def test_the_embedded_fast_path_insists_on_scram_and_a_live_postmaster(project: Path) -> None:
    """Whoever answers on the embedded server's port must do SCRAM: asked for a
    cleartext password (here: the real server, reconfigured), the fast path sends
    nothing and the full path decides. A pid file whose postmaster is dead is not a
    running server."""
    import psycopg

    server = EmbeddedServer(project / ".rlskit" / "pg")
    try:
        assert rlskit_process("upgrade", cwd=project).returncode == 0
        data = server._state().data_dir
        with psycopg.connect(server.url(), autocommit=True) as conn:
            hba = [r[0] for r in conn.execute("SELECT pg_read_file('pg_hba.conf')").fetchall()]
            conn.execute(
                "COPY (SELECT 'host all all 127.0.0.1/32 password') TO "
                + psycopg.sql.Literal(f"{data}/pg_hba.conf").as_string(conn)
            )
            conn.execute("SELECT pg_reload_conf()")
        fast, imported = rlskit_imports(["upgrade"], project, {})
        assert fast.returncode == 0 and "Nothing to do" in fast.stdout, fast.stderr
        assert "click" in imported  # the fast path refused the cleartext request
        with psycopg.connect(server.url(), autocommit=True) as conn:
            lines = psycopg.sql.Literal(hba[0].replace("\t", " ").rstrip("\n")).as_string(conn)
            conn.execute(
                f"COPY (SELECT unnest(string_to_array({lines}, E'\\n'))) TO "
                + psycopg.sql.Literal(f"{data}/pg_hba.conf").as_string(conn)
            )
            conn.execute("SELECT pg_reload_conf()")
        _, imported = rlskit_imports(["upgrade"], project, {})
        assert not HEAVY & imported  # SCRAM again: answered fast
        server.stop()
        pidfile = Path(data) / "postmaster.pid"
        proc = subprocess.Popen(["true"])  # a pid that has exited
        proc.wait()
        pidfile.write_text(f"{proc.pid}\n{data}\n")
        assert server.running_url() is None
        again, _ = rlskit_imports(["upgrade"], project, {})  # the full path starts the server
        assert again.returncode == 0 and "Nothing to do" in again.stdout, again.stderr
    finally:
        server.destroy()
