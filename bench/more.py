"""Benchmarks of rlskit test, drift, baseline and act_as, each against a floor."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import yaml

from bench.generate import make_project
from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project
from rlskit.scratch import scratch_database
from rlskit.session import act_as

if TYPE_CHECKING:
    from bench.__main__ import Bench


def _ms(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s >= 0.01 else f"{s * 1000:.3f} ms"


def bench_access(b: Bench, tables: int = 250, cases: int = 1000) -> None:
    print(f"rlskit test: {cases} access-matrix cases on {tables} tables")
    from bench.__main__ import RLSKIT, median_of, run

    proj = make_project(b.base / "access", tables)
    b.fresh_db("bench_access")  # no generated roles left on the server
    fixtures = "\n".join(
        f"INSERT INTO g.t{i:04d} (tenant_id, body) VALUES (1, 'a'), (2, 'b');"
        for i in range(tables)
    )
    suite = {
        "fixtures": fixtures,
        "actors": {
            "t1": {"role": "g_app", "settings": {"app.tenant_id": "1"}},
            "none": {"role": "g_app"},
        },
        "cases": [
            {
                "name": f"case {n}",
                "probe": f"SELECT id FROM g.t{n % tables:04d}",
                "expect": {"t1" if n % 2 else "none": 1 if n % 2 else 0},
            }
            for n in range(cases)
        ],
    }
    (proj / "tests" / "rls").mkdir(parents=True)
    (proj / "tests" / "rls" / "matrix.yaml").write_text(yaml.safe_dump(suite))
    project = Project.find(proj)
    with scratch_database(project, b.server.url("postgres")) as url:
        commands.upgrade(project, "head", RunOptions(url=url))
        t = median_of(3, lambda: _timed(lambda: commands.test(project, database_url=url)))
        report = commands.test(project, database_url=url)
        assert report.passed == cases and not report.failed, report.failed[:3]
        # floor: the same probes as plain queries, one transaction, no savepoints
        with psycopg.connect(url) as conn:

            def floor() -> float:
                start = time.perf_counter()
                with conn.transaction(force_rollback=True):
                    conn.execute(fixtures)
                    conn.execute("SET LOCAL ROLE g_app")
                    for c in suite["cases"]:
                        conn.execute(c["probe"]).fetchall()  # type: ignore[index]
                return time.perf_counter() - start

            f = median_of(3, floor)
    cli = median_of(
        3,
        lambda: run(
            [RLSKIT, "-p", str(proj), "test"], env={"RLSKIT_DATABASE_URL": b.server.url("postgres")}
        ),
    )
    b.add(
        "test",
        f"commands.test, {cases} cases (migrated database)",
        _ms(t),
        _ms(f),
        t / f,
        "",
        "floor: the same probes run bare in one transaction",
    )
    b.add(
        "test",
        f"rlskit test CLI, {cases} cases incl. scratch build",
        _ms(cli),
        "5000 ms",
        cli / 5.0,
        "< 5 s",
        "ratio against the 5 s target",
    )


def bench_drift(b: Bench, tables: int = 250) -> None:
    print(f"rlskit drift and baseline on {tables} tables / {tables * 4} policies")
    from bench.__main__ import median_of

    proj = make_project(b.base / "drift", tables)
    project = Project.find(proj)
    live = b.fresh_db("bench_drift")
    commands.upgrade(project, "head", RunOptions(url=live))
    scratch = b.base / "scratch"
    from rlskit.embedded import EmbeddedServer

    other = EmbeddedServer(scratch, fast=True)  # roles are per cluster: a second one
    other.start()
    try:
        commands.drift(project, RunOptions(url=live), other.url("postgres"))  # warm up
        reports = [
            commands.drift(project, RunOptions(url=live), other.url("postgres")) for _ in range(3)
        ]
        assert not reports[0].differences
        cmp_s = statistics.median(r.compare_seconds for r in reports)
        build_s = statistics.median(r.build_seconds for r in reports)
        with psycopg.connect(live) as conn:
            from rlskit.catalog import snapshot

            snap = median_of(3, lambda: _timed(lambda: snapshot(conn)))
        b.add(
            "drift",
            "drift: live snapshot + compare (excl. scratch build)",
            _ms(cmp_s),
            "1000 ms",
            cmp_s / 1.0,
            "< 1 s",
            "ratio against the 1 s target",
        )
        b.add("drift", "  of which reading the live catalog", _ms(snap), "", None)
        b.add(
            "drift", "  scratch build at the live revision (reported apart)", _ms(build_s), "", None
        )
        adopt = b.base / "adopt"

        def base_once() -> float:
            import shutil

            shutil.rmtree(adopt, ignore_errors=True)
            commands.init(adopt)
            p = Project.find(adopt)
            return _timed(lambda: commands.baseline(p, ["g"], RunOptions(url=live)))

        bl = median_of(3, base_once)
        pg_dump = other.tool("pg_dump")
        from bench.__main__ import run

        dump = median_of(3, lambda: run([pg_dump, "--schema-only", "--schema", "g", "-d", live]))
        b.add(
            "baseline",
            f"rlskit baseline of {tables} tables / {tables * 4} policies",
            _ms(bl),
            _ms(dump),
            bl / dump,
            "< 2 s",
            "floor: pg_dump --schema-only of the same schema",
        )
    finally:
        other.destroy()


def bench_session(b: Bench) -> None:
    print("act_as overhead per transaction (one-row query)")
    from bench.__main__ import median_of

    url = b.fresh_db("bench_session")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE ROLE g_reader NOLOGIN")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, tenant int)")
        conn.execute("INSERT INTO t SELECT g, g % 10 FROM generate_series(1, 1000) g")
        conn.execute("GRANT SELECT ON t TO g_reader")
    n = 2000
    with psycopg.connect(url) as conn:

        def bare() -> float:
            start = time.perf_counter()
            for i in range(n):
                with conn.transaction():
                    conn.execute("SELECT tenant FROM t WHERE id = %s", (i % 1000 + 1,)).fetchone()
            return (time.perf_counter() - start) / n

        def acting() -> float:
            start = time.perf_counter()
            for i in range(n):
                with act_as(conn, "g_reader", {"app.tenant_id": "3"}):
                    conn.execute("SELECT tenant FROM t WHERE id = %s", (i % 1000 + 1,)).fetchone()
            return (time.perf_counter() - start) / n

        f = median_of(3, bare)
        a = median_of(3, acting)
    b.add(
        "session",
        "act_as(role, 1 setting) + one-row query, per transaction",
        _ms(a),
        _ms(f),
        a / f,
        "<= 1.2x",
        f"{(a - f) * 1e6:+.0f} us: same round trips (BEGIN carries the set_config calls); "
        "the server's role switch and setting",
    )
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE t")
        conn.commit()
    with psycopg.connect(b.server.url("postgres"), autocommit=True) as c:
        c.execute("DROP DATABASE bench_session WITH (FORCE)")
        c.execute("DROP ROLE g_reader")


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


__all__ = ["Path", "bench_access", "bench_drift", "bench_session"]
