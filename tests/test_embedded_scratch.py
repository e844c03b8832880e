"""The scratch server lint, test and drift use: visible, stopped, never piled up
(issue 11, case 8). Real servers, real processes: ``ps`` is the oracle."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rlskit.project import Project
from rlskit.scratch import scratch_database, scratch_server

from .conftest import REPO, Database, rlskit


@pytest.fixture
def proj() -> Iterator[Path]:
    """The reference project with its access matrices, in a folder the server
    users can traverse (so its clusters live under it)."""
    base = Path(tempfile.mkdtemp(prefix="rlskit-scratch-life-"))
    os.chmod(base, 0o755)
    dest = base / "proj"
    dest.mkdir()
    shutil.copy(REPO / "alembic.ini", dest / "alembic.ini")
    shutil.copytree(
        REPO / "migrations", dest / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "sql", dest / "sql")
    shutil.copytree(REPO / "tests" / "rls", dest / "tests" / "rls")
    try:
        yield dest
    finally:
        rlskit("db", "stop", project=dest)
        for pid in _postmasters(dest):  # whatever a failing test left behind
            os.kill(pid, signal.SIGQUIT)
        shutil.rmtree(base, ignore_errors=True)


def _postmasters(proj: Path) -> list[int]:
    """PostgreSQL server processes whose data folder is inside ``proj``."""
    out = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        parts = args.split()
        if parts and Path(parts[0]).name == "postgres" and "-D" in parts:
            data = parts[parts.index("-D") + 1]
            if data.startswith(str(proj) + "/"):
                found.append(int(pid))
    return found


def test_lint_test_and_drift_leave_no_scratch_server_running(
    proj: Path, database: Database
) -> None:
    for _ in range(2):
        res = rlskit("lint", project=proj)
        assert res.exit_code == 0, res.output
        assert _postmasters(proj) == [], "lint left its scratch server running"
        res = rlskit("test", project=proj)
        assert res.exit_code == 0, res.output
        assert _postmasters(proj) == [], "rlskit test left its scratch server running"
        res = rlskit("drift", project=proj, url=database.url)
        assert res.exit_code == 0, res.output
        assert _postmasters(proj) == [], "drift left its scratch server running"
    status = rlskit("db", "status", project=proj)
    assert "scratch server: stopped" in status.output


def test_commands_at_the_same_time_share_one_scratch_server(proj: Path) -> None:
    project = Project.find(proj)
    with scratch_database(project) as first:
        with scratch_database(project) as second, scratch_database(project) as third:
            assert len(_postmasters(proj)) == 1
            assert len({first, second, third}) == 3
            status = rlskit("db", "status", project=proj)
            assert "scratch server: running" in status.output, status.output
        # the others ended: the first user still has its server
        assert len(_postmasters(proj)) == 1
        with psycopg.connect(first) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _postmasters(proj) == []


def test_db_stop_stops_a_scratch_server_a_killed_command_left(proj: Path) -> None:
    assert rlskit("db", "start", project=proj).exit_code == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from rlskit.project import Project; from rlskit.scratch import scratch_database\n"
            "with scratch_database(Project.find(Path(sys.argv[1]))):\n"
            "    print('up', flush=True); time.sleep(120)\n",
            str(proj),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "up"
    finally:
        holder.kill()
        holder.wait()
    assert len(_postmasters(proj)) == 2  # the project's server and the orphaned scratch one
    status = rlskit("db", "status", project=proj)
    lines = status.output.splitlines()
    assert lines[0].startswith("running:") and "scratch server: running" in lines[1], lines
    stop = rlskit("db", "stop", project=proj)
    assert stop.output.splitlines() == ["stopped", "scratch server: stopped"]
    assert _postmasters(proj) == []
    # and the next command that needs it starts it again and stops it after
    assert rlskit("lint", project=proj).exit_code == 0
    assert _postmasters(proj) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="clusters go to the shared root only as root")
def test_the_scratch_cluster_of_a_deleted_project_is_swept() -> None:
    """A project the server users cannot reach keeps its scratch cluster under
    RLSKIT_SHARED_DIR; once the project is deleted, the next scratch use
    elsewhere deletes that cluster."""
    base = Path(tempfile.mkdtemp(prefix="rlskit-sweep-"))  # 0700: out of their reach
    projects = []
    for name in ("gone", "next"):
        dest = base / name
        dest.mkdir()
        shutil.copy(REPO / "alembic.ini", dest / "alembic.ini")
        shutil.copytree(REPO / "migrations", dest / "migrations")
        shutil.copytree(REPO / "sql", dest / "sql")
        projects.append(dest)
    gone, nxt = projects
    try:
        with scratch_database(Project.find(gone)):
            data = scratch_server(Project.find(gone)).status().data_dir
        assert data is not None and not data.startswith(str(base))
        cluster = Path(data).parent
        assert cluster.exists()
        shutil.rmtree(gone)
        with scratch_database(Project.find(nxt)):
            pass
        assert not cluster.exists()
    finally:
        for p in projects:
            if p.exists():
                scratch_server(Project.find(p)).destroy()
        shutil.rmtree(base, ignore_errors=True)
