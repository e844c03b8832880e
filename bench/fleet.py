"""Fleet section: ``rlskit fleet`` on 100 databases against sequential in-process upgrades."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project

if TYPE_CHECKING:
    from bench.__main__ import Bench

REPO = Path(__file__).resolve().parent.parent
_CREATE_ROLE = re.compile(r"^CREATE ROLE ([^;]+);$", re.M)


def reference_for_fleet(dest: Path) -> Path:
    """The reference project, its CREATE ROLE statements made idempotent (roles are
    per cluster, and every database of this bench lives on one cluster)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "alembic.ini", dest / "alembic.ini")
    shutil.copytree(
        REPO / "migrations", dest / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "sql", dest / "sql")
    for f in (dest / "sql").glob("*.up.sql"):
        f.write_text(
            _CREATE_ROLE.sub(
                r"DO $f$BEGIN CREATE ROLE \1; EXCEPTION WHEN duplicate_object THEN NULL; END$f$;",
                f.read_text(),
            )
        )
    return dest


def _databases(b: Bench, n: int) -> list[str]:
    names = [f"fleetb_{i:03d}" for i in range(n)]
    with b.admin() as c:
        for (db,) in c.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'fleetb\\_%'"
        ).fetchall():
            c.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
        for name in names:
            c.execute(f'CREATE DATABASE "{name}"')
    return names


def _fleet_file(b: Bench, names: list[str], path: Path) -> dict[str, str]:
    u = urlsplit(b.server.url("postgres"))
    lines = ["targets:"]
    for name in names:
        lines += [
            f"  - name: {name}",
            f"    url: postgresql://{u.username}:${{BENCH_FLEET_PW}}@127.0.0.1:{u.port}/{name}",
        ]
    path.write_text("\n".join(lines) + "\n")
    assert u.password is not None
    return {"BENCH_FLEET_PW": u.password}


def _fleet(proj: Path, *args: str, env: dict[str, str]) -> float:
    from bench.__main__ import RLSKIT

    t = time.perf_counter()
    p = subprocess.run(
        [RLSKIT, "-p", str(proj), "fleet", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if p.returncode != 0:
        raise SystemExit(f"rlskit fleet {args[0]} failed: {p.stdout[-800:]} {p.stderr[-800:]}")
    return time.perf_counter() - t


def bench_fleet(b: Bench, n: int = 100) -> None:
    from bench.__main__ import ms

    print(f"fleet: the reference schema on {n} empty databases, against sequential upgrades")
    proj = reference_for_fleet(b.base / "fleetref")
    project = Project.find(proj)
    ff = b.base / "fleet.yaml"

    names = _databases(b, n)
    t = time.perf_counter()
    for name in names:
        commands.upgrade(project, "head", RunOptions(url=b.server.url(name)))
    floor = time.perf_counter() - t
    b.add("fleet", f"floor: {n} sequential in-process upgrades", ms(floor), ms(floor), 1.0)
    env = _fleet_file(b, names, ff)
    status = _fleet(proj, "status", "--fleet", str(ff), "--jobs", "4", env=env)
    b.add(
        "fleet",
        f"rlskit fleet status, {n} databases, --jobs 4",
        ms(status),
        ms(floor),
        status / floor,
        "",
        f"{status / n * 1000:.0f} ms per target",
    )
    for jobs in (1, 2, 4, 8):
        names = _databases(b, n)
        env = _fleet_file(b, names, ff)
        state = b.base / f"state{jobs}.json"
        took = _fleet(
            proj, "upgrade", "--fleet", str(ff), "--jobs", str(jobs), "--state", str(state), env=env
        )
        b.add(
            "fleet",
            f"rlskit fleet upgrade, {n} databases, --jobs {jobs}",
            ms(took),
            ms(floor),
            took / floor,
            "",
            f"{took / n * 1000:.0f} ms per target (2 cores)",
        )
    for count in (25, 50):
        names = _databases(b, count)
        env = _fleet_file(b, names, ff)
        took = _fleet(
            proj,
            "upgrade",
            "--fleet",
            str(ff),
            "--jobs",
            "4",
            "--state",
            str(b.base / f"s{count}.json"),
            env=env,
        )
        b.add(
            "fleet",
            f"rlskit fleet upgrade, {count} databases, --jobs 4",
            ms(took),
            ms(floor * count / n),
            took / (floor * count / n),
            "linear",
            f"{took / count * 1000:.0f} ms per target; floor scaled to {count}",
        )
    _databases(b, 0)
