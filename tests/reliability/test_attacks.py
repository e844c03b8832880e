"""Attacks that must leave nothing lost: kill -9 at random points, a server
restart mid-upgrade, many concurrent deploys. Slow: run with ``pytest -m slow``."""

from __future__ import annotations

import concurrent.futures
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from rlskit.catalog import snapshot
from rlskit.embedded import EmbeddedServer

from ..conftest import HEAD, Database, rlskit, write_revision

pytestmark = pytest.mark.slow

RLSKIT = str(Path(sys.executable).parent / "rlskit")

SLOW_REVISION = "\n".join(
    f"CREATE TABLE app.slow_{i} (id int);\nSELECT pg_sleep(0.03);" for i in range(10)
)
SLOW_DOWN = "\n".join(f"DROP TABLE app.slow_{i};" for i in range(10))


def _wait_idle(db: Database) -> None:
    """Until no other session works in the database (a killed client's backend ends)."""
    deadline = time.monotonic() + 20
    with db.server.admin() as conn:
        while time.monotonic() < deadline:
            n = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid()",
                (db.name,),
            ).fetchone()[0]
            if n == 0:
                return
            time.sleep(0.05)
    raise AssertionError("sessions still running after 20 s")


def test_kill_9_at_random_points_leaves_old_or_new_state(project: Path, database: Database) -> None:
    write_revision(project, "0100", SLOW_REVISION, SLOW_DOWN, message="slow")
    before = database.snapshot()
    started = time.monotonic()
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    duration = time.monotonic() - started + 0.4  # plus the CLI's start-up
    after = database.snapshot()
    rng = random.Random(20261123)
    outcomes = {"old": 0, "new": 0}
    for _ in range(50):
        assert (
            rlskit("downgrade", "base", "--yes", project=project, url=database.url).exit_code == 0
        )
        assert database.snapshot() == before
        proc = subprocess.Popen(
            [RLSKIT, "-p", str(project), "--url", database.url, "upgrade"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.05, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _wait_idle(database)
        state = database.snapshot()
        version = database.version()
        if version == []:
            assert state == before
            outcomes["old"] += 1
        else:
            assert version == ["0100"] and state == after
            outcomes["new"] += 1
        # a rerun always completes
        res = rlskit("upgrade", project=project, url=database.url)
        assert res.exit_code == 0, res.stderr
        assert database.version() == ["0100"] and database.snapshot() == after
    assert outcomes["old"] > 0  # the kills did land before the commit


def test_server_restart_mid_upgrade(project: Path) -> None:
    base = Path(tempfile.mkdtemp(prefix="rlskit-restart-"))
    os.chmod(base, 0o755)
    server = EmbeddedServer(base / "pg", fast=True)
    server.start()
    try:
        url = server.url()
        write_revision(
            project,
            "0100",
            "CREATE TABLE app.before_sleep (id int);\n"
            "SELECT pg_sleep(3);\nCREATE TABLE app.after_sleep (id int);",
            "DROP TABLE app.after_sleep; DROP TABLE app.before_sleep;",
            message="long",
        )
        proc = subprocess.Popen(
            [RLSKIT, "-p", str(project), "--url", url, "upgrade"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2.0)
        server.stop()
        server.start()
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert "Traceback" not in err
        assert "nothing" in err.lower() or "rolled back" in err.lower(), err
        with psycopg.connect(url) as conn:
            # the bookkeeping tables may exist (made before the migrations' transaction), empty
            if conn.execute("SELECT to_regclass('rlskit.alembic_version')").fetchone()[0]:
                assert (
                    conn.execute("SELECT count(*) FROM rlskit.alembic_version").fetchone()[0] == 0
                )
            assert conn.execute("SELECT to_regclass('alembic_version')").fetchone()[0] is None
            assert (
                conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'app_user'").fetchone()[
                    0
                ]
                == 0
            )
        rerun = subprocess.run(
            [RLSKIT, "-p", str(project), "--url", url, "upgrade"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert rerun.returncode == 0, rerun.stderr
    finally:
        server.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_eight_concurrent_upgrades_twenty_times(project: Path, database: Database) -> None:
    write_revision(
        project,
        "0100",
        "CREATE TABLE IF NOT EXISTS public.deploy_log (pid int);\n"
        "INSERT INTO public.deploy_log VALUES (pg_backend_pid());",
        "DROP TABLE public.deploy_log;",
        message="log",
    )
    env = {**os.environ, "RLSKIT_DATABASE_URL": database.url}
    for _ in range(20):
        assert (
            rlskit("downgrade", "base", "--yes", project=project, url=database.url).exit_code == 0
        )

        def run(_: int) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [RLSKIT, "-p", str(project), "upgrade"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(run, range(8)))
        bad = [r.stderr for r in results if r.returncode != 0]
        assert bad == []
        assert sum("OK: upgrade ran" in r.stdout for r in results) == 1
        assert sum("Nothing to do" in r.stdout for r in results) == 7
        assert database.scalar("SELECT count(*) FROM public.deploy_log") == 1
        assert database.version() == ["0100"]
        with psycopg.connect(database.url) as conn:
            assert snapshot(conn) == database.snapshot()
    assert HEAD  # the reference schema ran under the lock each time
