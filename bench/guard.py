"""Cost of the downgrade guard (issue 11 case 5b): recording the tables that hold
rows before a down script and checking them after.

    python -m bench.guard

Two schemas: the repository's reference project and a generated one with 1,000
tables (RLS enabled, one row each). For each: the guard alone (record, savepoint,
check, release, on a no-op script), and ``commands.downgrade -1`` of a revision
whose down script is ``SELECT 1``, guarded against ``--yes`` (no guard). Medians
of 7 runs. Measurements, not tests.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench.generate import make_project
from rlskit import commands, guard
from rlskit.commands import RunOptions
from rlskit.embedded import EmbeddedServer
from rlskit.project import Project
from rlskit.sqlfile import SqlFile

REPO = Path(__file__).resolve().parent.parent
RUNS = 7


def _median(fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(RUNS))


def _copy_reference(dest: Path) -> Path:
    dest.mkdir()
    shutil.copy(REPO / "alembic.ini", dest / "alembic.ini")
    shutil.copytree(REPO / "migrations", dest / "migrations")
    shutil.copytree(REPO / "sql", dest / "sql")
    if (REPO / "policies").exists():
        shutil.copytree(REPO / "policies", dest / "policies")
    return dest


def _fill(url: str) -> tuple[int, int]:
    """Put a row in every user table taking ``DEFAULT VALUES`` or (tenant_id, body); (tables, holding rows)."""
    with psycopg.connect(url, autocommit=True) as c:
        tables = c.execute(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rlskit')"
        ).fetchall()
        for (t,) in tables:
            for values in ("(tenant_id, body) VALUES (1, 'a')", "DEFAULT VALUES"):
                try:
                    c.execute(f"INSERT INTO {t} {values}")  # names from format('%I')
                    break
                except psycopg.Error:
                    continue
    with psycopg.connect(url) as c:
        holding = len(guard.observe(c, ["rlskit"]))
    return len(tables), holding


def _measure(name: str, project_dir: Path, url: str) -> None:
    project = Project.find(project_dir)
    commands.upgrade(project, "head", RunOptions(url=url))
    tables, holding = _fill(url)
    commands.new(project, "noop", up_sql="SELECT 1;\n", down_sql="SELECT 1;\n")
    project = Project.find(project_dir)
    commands.upgrade(project, "head", RunOptions(url=url))

    dummy = SqlFile.load(next(project_dir.glob("sql/*noop.down.sql")), "noop.down.sql")

    def alone() -> float:
        with psycopg.connect(url) as conn:
            t = time.perf_counter()
            w = guard.Watch(conn, ["rlskit"])
            w.finish(dummy.statements, dummy, "x", False)
            return time.perf_counter() - t

    def down(accept: bool) -> Callable[[], float]:
        def run() -> float:
            t = time.perf_counter()
            commands.downgrade(project, "-1", RunOptions(url=url, accept_data_loss=accept))
            elapsed = time.perf_counter() - t
            commands.upgrade(project, "head", RunOptions(url=url))
            return elapsed

        return run

    g = _median(alone)
    guarded = _median(down(False))
    unguarded = _median(down(True))
    print(
        f"{name}: {tables} tables, {holding} holding rows | guard alone {g * 1000:.1f} ms | "
        f"downgrade -1 guarded {guarded * 1000:.0f} ms, --yes {unguarded * 1000:.0f} ms "
        f"(+{(guarded - unguarded) * 1000:.0f} ms, {guarded / unguarded:.2f}x)"
    )


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="rlskit-bench-guard-"))
    os.chmod(base, 0o755)
    server = EmbeddedServer(base / "pg")
    server.start()
    try:
        with psycopg.connect(server.url("postgres"), autocommit=True) as c:
            c.execute("CREATE DATABASE g_ref")
            c.execute("CREATE DATABASE g_1000")
        _measure("reference schema", _copy_reference(base / "ref"), server.url("g_ref"))
        _measure("1000 tables", make_project(base / "gen", 1000), server.url("g_1000"))
    finally:
        server.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
