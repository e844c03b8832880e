"""Issue 12 item 14: a killed `rlskit upgrade` must not leave a backend holding the
migration lock for long, and a waiting upgrade names the holder and how to end it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg

from rlskit.project import Project
from rlskit.runtime import advisory_key

from ..conftest import Database, rlskit, write_revision

RLSKIT = str(Path(sys.executable).parent / "rlskit")


def _backend_running(db: Database, text: str) -> int | None:
    with db.server.admin() as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND query LIKE %s "
            "AND pid <> pg_backend_pid()",
            (db.name, f"%{text}%"),
        ).fetchone()
    return int(row[0]) if row else None


def test_killed_upgrade_leaves_no_backend_holding_the_lock(
    project: Path, database: Database
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    write_revision(project, "0100", "SELECT pg_sleep(120);", message="long")
    proc = subprocess.Popen(
        [RLSKIT, "-p", str(project), "--url", database.url, "upgrade"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        pid = None
        while pid is None and time.monotonic() < deadline:
            pid = _backend_running(database, "pg_sleep(120)")
            time.sleep(0.1)
        assert pid is not None, "the upgrade never reached its statement"
    finally:
        proc.kill()
        proc.wait()
    killed = time.monotonic()
    while _backend_running(database, "pg_sleep(120)") and time.monotonic() - killed < 30:
        time.sleep(0.2)
    gone_after = time.monotonic() - killed
    assert gone_after < 15, f"the orphaned backend {pid} still ran {gone_after:.0f}s after kill -9"
    # and the next upgrade goes through
    (project / "sql" / "0100_long.up.sql").write_text("SELECT 1;")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert database.version() == ["0100"]


def test_waiting_upgrade_names_the_lock_holder_and_how_to_end_it(
    project: Path, database: Database
) -> None:
    key = advisory_key(Project.find(project).settings)
    with psycopg.connect(database.url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        pid = holder.info.backend_pid
        res = rlskit("upgrade", "--wait", "1s", project=project, url=database.url)
    assert res.exit_code == 4
    err = " ".join(res.stderr.split())
    assert f"pid {pid}" in err and "state idle" in err and "query started" in err
    assert f"SELECT pg_terminate_backend({pid})" in err
    assert "Nothing was changed" in err
    assert database.version() == []


def test_migration_session_bounds_orphans_in_every_revision(
    project: Path, database: Database
) -> None:
    """The settings survive the per-revision session reset (they are startup options)."""
    write_revision(
        project,
        "0100",
        "CREATE TABLE app.orphan_settings AS SELECT "
        "current_setting('idle_in_transaction_session_timeout') AS idle, "
        "current_setting('client_connection_check_interval') AS check_interval;",
        message="settings",
    )
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    with database.connect() as conn:
        row = conn.execute("SELECT idle, check_interval FROM app.orphan_settings").fetchone()
    assert row == ("5min", "5s")
