"""rlskit init / new / db, the embedded default, and the CLI's start-up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from rlskit.embedded import EmbeddedServer

from .conftest import HEAD, REPO, REVISIONS, Database, alembic_process, rlskit, rlskit_process


def test_init_scaffolds_a_project_and_new_creates_revisions(
    tmp_path: Path, database: Database
) -> None:
    res = rlskit("init", str(tmp_path))
    assert res.exit_code == 0, res.stderr
    for rel in (
        "alembic.ini",
        "migrations/env.py",
        "migrations/script.py.mako",
        "migrations/versions",
        "sql",
        "policies",
        ".gitignore",
    ):
        assert (tmp_path / rel).exists(), rel
    env_py = (tmp_path / "migrations" / "env.py").read_text()
    assert "run_env()" in env_py and len(env_py.strip().splitlines()) == 3
    assert rlskit("init", str(tmp_path)).exit_code == 2  # never overwrites

    res = rlskit("new", "Add tenant policies!", project=tmp_path)
    assert res.exit_code == 0, res.stderr
    assert "sql/0001_add_tenant_policies.up.sql" in res.output
    up = tmp_path / "sql" / "0001_add_tenant_policies.up.sql"
    up.write_text("CREATE ROLE tenant_reader NOLOGIN;\n")
    (tmp_path / "sql" / "0001_add_tenant_policies.down.sql").write_text(
        "DROP ROLE tenant_reader;\n"
    )
    assert rlskit("new", "second", project=tmp_path).output.startswith("revision 0002")
    assert rlskit("new", "custom id", "--rev-id", "abc123", project=tmp_path).exit_code == 0
    long = rlskit(
        "new",
        "a rather long message about policy helpers and parallel plans",
        "--rev-id",
        "abc124",
        project=tmp_path,
    )
    stem = next((tmp_path / "sql").glob("abc124_*.up.sql")).name[: -len(".up.sql")]
    assert (tmp_path / "migrations" / "versions" / f"{stem}.py").is_file(), long.output
    for f in (tmp_path / "sql").glob("abc124_*"):
        f.unlink()
    (tmp_path / "migrations" / "versions" / f"{stem}.py").unlink()
    res = rlskit("upgrade", project=tmp_path, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert database.version() == ["abc123"]
    assert database.scalar("SELECT count(*) FROM pg_roles WHERE rolname = 'tenant_reader'") == 1
    # plain alembic sees the same revisions
    hist = alembic_process("history", cwd=tmp_path)
    assert "0002 -> abc123 (head), custom id" in hist.stdout


def test_embedded_default_is_created_reused_and_managed(tmp_path: Path) -> None:
    base = Path(tempfile.mkdtemp(prefix="rlskit-proj-"))
    os.chmod(base, 0o755)
    proj = base / "proj"
    try:
        shutil.copytree(
            REPO,
            proj,
            ignore=shutil.ignore_patterns(
                ".venv",
                ".rlskit",
                ".git",
                "__pycache__",
                "tests",
                "bench",
                "examples",
                "*.egg-info",
            ),
        )
        # conftest unset RLSKIT_DATABASE_URL/DATABASE_URL (set but empty is an error)
        env: dict[str, str] = {}
        first = rlskit_process("upgrade", cwd=proj, env=env)
        assert first.returncode == 0, first.stderr
        assert (
            "(embedded)" in first.stdout
            and f"OK: upgrade ran {len(REVISIONS)} revision(s)" in first.stdout
        )
        assert (proj / ".rlskit" / "pg" / "server.json").exists()
        again = rlskit_process("upgrade", cwd=proj, env=env)
        assert "Nothing to do" in again.stdout
        status = rlskit_process("db", "status", cwd=proj)
        assert status.returncode == 0 and status.stdout.startswith("running")
        url = rlskit_process("db", "url", cwd=proj).stdout.strip()
        assert ":***@127.0.0.1:" in url
        real = rlskit_process("db", "url", "--show-password", cwd=proj).stdout.strip()
        with psycopg.connect(real) as conn:
            assert conn.execute("SELECT count(*) FROM app.customers").fetchone()[0] == 0
        psql = rlskit_process("db", "psql", "-tAc", "SELECT current_database()", cwd=proj)
        assert psql.stdout.strip() == "rlskit", psql.stderr
        assert rlskit_process("db", "stop", cwd=proj).stdout.strip() == "stopped"
        assert rlskit_process("db", "status", cwd=proj).returncode == 1
        # Started again on demand by the next command, data kept.
        cur = rlskit_process("current", cwd=proj, env=env)
        assert cur.stdout.strip() == HEAD, cur.stderr
    finally:
        EmbeddedServer(proj / ".rlskit" / "pg").destroy()
        shutil.rmtree(base, ignore_errors=True)


def _python_for_nobody() -> str | None:
    """A Python 3.11 that the unprivileged user can execute, if any."""
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(cand):
            out = subprocess.run(
                [cand, "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                user="nobody",
                check=False,
            )
            if out.stdout.strip() == str(sys.version_info[:2]):
                return cand
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="as a normal user this is what every test does")
def test_embedded_server_as_a_normal_user(tmp_path: Path) -> None:
    """As root the suite runs the server as an unprivileged user; here a normal
    user (nobody) runs rlskit itself and the server runs as that user."""
    python = _python_for_nobody()
    site = Path(psycopg.__file__).parent.parent
    if python is None or not all(os.access(p, os.R_OK) for p in (site, REPO)):
        pytest.skip("no Python the unprivileged user can run with these packages")
    base = Path(tempfile.mkdtemp(prefix="rlskit-nobody-"))
    os.chmod(base, 0o777)
    code = (
        "from pathlib import Path; from rlskit.embedded import EmbeddedServer; import psycopg\n"
        f"s = EmbeddedServer(Path({str(base)!r}) / 'pg', fast=True)\n"
        "st = s.start(); assert st.os_user is None, st\n"
        "print(psycopg.connect(s.url()).execute('select current_user').fetchone()[0])\n"
        "s.destroy()\n"
    )
    try:
        proc = subprocess.run(
            [python, "-c", code],
            user="nobody",
            capture_output=True,
            text=True,
            env={"PYTHONPATH": f"{REPO}:{site}", "PATH": "/usr/bin:/bin"},
            timeout=120,
            check=False,
        )
        if "ModuleNotFoundError" in proc.stderr or "ImportError" in proc.stderr:
            pytest.skip(f"packages not importable by that Python: {proc.stderr[-200:]}")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "postgres"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_help_lists_the_commands() -> None:
    res = rlskit("--help")
    for cmd in (
        "init",
        "new",
        "upgrade",
        "downgrade",
        "current",
        "history",
        "status",
        "plan",
        "repair",
        "db",
    ):
        assert f"  {cmd}" in res.output
