"""Peer comparison (issue 15): the same SQL applied by psql, plain Alembic and rlskit,
in one run, alternating, on one server; a deploy with nothing to do, on the
reference schema and on 5 MB of applied history. dbmate, graphile-migrate and
Sqitch are measured only when they are on PATH (they are not set up here)."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
from pathlib import Path

from bench.__main__ import RLSKIT, ROUNDS, Bench, alternate, ms, psql_run, run, spread, timed
from bench.generate import make_project, schema_sql
from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project

REPO = Path(__file__).resolve().parent.parent
ALEMBIC = str(Path(sys.executable).parent / "alembic")

ENV_PY = """\
import os
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

url = os.environ["BENCH_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url, poolclass=NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"""

REVISION = """\
from pathlib import Path
from alembic import op

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    sql = (Path(__file__).parent.parent.parent / "sql" / {name!r}).read_text()
    op.get_bind().exec_driver_sql(sql.replace("%", "%%"))


def downgrade():
    pass
"""


def alembic_project(directory: Path, files: list[Path]) -> Path:
    """A minimal plain-Alembic project running ``files`` in order, one revision each."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "migrations" / "versions").mkdir(parents=True)
    (directory / "sql").mkdir()
    (directory / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
    )
    (directory / "migrations" / "env.py").write_text(ENV_PY)
    down = None
    for i, f in enumerate(files, 1):
        rev = f"{i:04d}"
        shutil.copy(f, directory / "sql" / f.name)
        (directory / "migrations" / "versions" / f"{rev}.py").write_text(
            REVISION.format(rev=rev, down=down, name=f.name)
        )
        down = rev
    return directory


def _alembic_in_process(proj: Path, url: str) -> float:
    from alembic import command
    from alembic.config import Config

    os.environ["BENCH_URL"] = url
    cfg = Config(str(proj / "alembic.ini"))
    return timed(lambda: command.upgrade(cfg, "head"))


def _others() -> list[str]:
    return [t for t in ("dbmate", "graphile-migrate", "sqitch") if shutil.which(t)]


def bench_peers(b: Bench) -> None:
    psql = b.server.tool("psql")
    missing = [t for t in ("dbmate", "graphile-migrate", "sqitch") if t not in _others()]
    print(f"peers: same SQL, alternating runs (not on PATH, skipped: {', '.join(missing)})")
    for tables in (250, 1250):
        proj = make_project(b.base / f"peer{tables}", tables)
        up_file = next((proj / "sql").glob("*.up.sql"))
        alem = alembic_project(b.base / f"alembic{tables}", [up_file])
        project = Project.find(proj)

        def fresh() -> str:
            return b.fresh_db("bench_peer")

        def floor(up_file: Path = up_file) -> float:
            url = fresh()
            return psql_run(
                psql, ["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", str(up_file)], url
            )

        def rl_cli(proj: Path = proj) -> float:
            url = fresh()
            return run([RLSKIT, "-p", str(proj), "upgrade"], env={"RLSKIT_DATABASE_URL": url})

        def rl_api(project: Project = project) -> float:
            url = fresh()
            return timed(lambda: commands.upgrade(project, "head", RunOptions(url=url)))

        def al_cli(alem: Path = alem) -> float:
            url = fresh()
            return run(
                [ALEMBIC, "-c", str(alem / "alembic.ini"), "upgrade", "head"],
                env={"BENCH_URL": url},
            )

        def al_api(alem: Path = alem) -> float:
            return _alembic_in_process(alem, fresh())

        runs = alternate(
            ROUNDS,
            {"psql": floor, "rl_cli": rl_cli, "rl_api": rl_api, "al_cli": al_cli, "al_api": al_api},
        )
        t = {k: statistics.median(v) for k, v in runs.items()}
        f = t["psql"]
        n = f"{tables * 4} policies"
        rows = (
            ("psql", f"psql -1 -f (floor), {n} from empty", "", ""),
            (
                "rl_cli",
                f"rlskit upgrade (CLI process), {n}",
                "<= 1.0x",
                "includes Python start-up and imports",
            ),
            ("rl_api", f"commands.upgrade (in-process), {n}", "<= 1.0x", ""),
            (
                "al_cli",
                f"plain Alembic (CLI process), {n}",
                "",
                "exec_driver_sql of the file, % doubled",
            ),
            ("al_api", f"plain Alembic (in-process), {n}", "", ""),
        )
        for key, what, target, note in rows:
            runs_of = spread(runs[key])
            b.add(
                "peers",
                what,
                ms(t[key]),
                ms(f),
                t[key] / f,
                target,
                f"{note}; {runs_of}" if note else runs_of,
            )
    bench_noop_peers(b)


def history_project(directory: Path, revisions: int = 21, tables: int = 250) -> Path:
    """A project whose applied history is ``revisions`` files of ``tables`` tables each
    (21 x 250 tables: 5.0 MB of SQL)."""
    if directory.exists():
        shutil.rmtree(directory)
    commands.init(directory)
    for i in range(revisions):
        up, down = schema_sql(tables, prefix=f"h{i:02d}")
        commands.new(Project.find(directory), f"history {i}", up_sql=up, down_sql=down)
    return directory


def bench_noop_peers(b: Bench) -> None:
    print("deploy with nothing to do: rlskit vs plain Alembic (same files), CLI processes")
    ref = b.base / "reference"
    if ref.exists():
        shutil.rmtree(ref)
    ref.mkdir()
    shutil.copy(REPO / "alembic.ini", ref / "alembic.ini")
    shutil.copytree(
        REPO / "migrations", ref / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "sql", ref / "sql")
    hist = history_project(b.base / "history")
    psql = b.server.tool("psql")
    for label, proj in (("reference schema", ref), ("5 MB applied history", hist)):
        files = sorted((proj / "sql").glob("*.up.sql"))
        size = sum(f.stat().st_size for f in files)
        alem = alembic_project(b.base / f"alembic_{proj.name}", files)
        url = b.fresh_db("bench_noop_peer")
        # revision by revision: 21,000 policies in one transaction exceed the lock table
        run(
            [RLSKIT, "-p", str(proj), "upgrade", "--per-revision"], env={"RLSKIT_DATABASE_URL": url}
        )
        # plain Alembic on its own database with the same history applied
        url2 = url.rsplit("/", 1)[0] + "/bench_noop_alembic"
        with b.admin() as c:
            c.execute("DROP DATABASE IF EXISTS bench_noop_alembic WITH (FORCE)")
            c.execute("CREATE DATABASE bench_noop_alembic")
        run([ALEMBIC, "-c", str(alem / "alembic.ini"), "stamp", "head"], env={"BENCH_URL": url2})
        project = Project.find(proj)
        runs = alternate(
            7,
            {
                "psql": lambda url=url: psql_run(psql, ["-X", "-q", "-c", "select 1"], url),
                "rl_cli": lambda proj=proj, url=url: run(
                    [RLSKIT, "-p", str(proj), "upgrade"], env={"RLSKIT_DATABASE_URL": url}
                ),
                "rl_status": lambda proj=proj, url=url: run(
                    [RLSKIT, "-p", str(proj), "status"], env={"RLSKIT_DATABASE_URL": url}
                ),
                "rl_api": lambda project=project, url=url: timed(
                    lambda: commands.upgrade(project, "head", RunOptions(url=url))
                ),
                "al_cli": lambda alem=alem, url2=url2: run(
                    [ALEMBIC, "-c", str(alem / "alembic.ini"), "upgrade", "head"],
                    env={"BENCH_URL": url2},
                ),
            },
        )
        t = {k: statistics.median(v) for k, v in runs.items()}
        a = t["al_cli"]
        amount = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
        what = f"{label}, {len(files)} files, {amount}"
        b.add(
            "peers",
            f"plain Alembic no-op (CLI process), {what}",
            ms(a),
            ms(a),
            1.0,
            "",
            spread(runs["al_cli"]),
        )
        b.add(
            "peers",
            f"rlskit upgrade no-op (CLI process), {what}",
            ms(t["rl_cli"]),
            ms(a),
            t["rl_cli"] / a,
            "<= 0.15 s, ~0.33x",
            f"floor: plain Alembic's no-op; {spread(runs['rl_cli'])}",
        )
        b.add(
            "peers",
            f"rlskit status (CLI process), {what}",
            ms(t["rl_status"]),
            ms(a),
            t["rl_status"] / a,
            "<= 0.15 s",
            f"floor: plain Alembic's no-op; {spread(runs['rl_status'])}",
        )
        b.add(
            "peers",
            f"commands.upgrade no-op (in-process), {what}",
            ms(t["rl_api"]),
            ms(t["psql"]),
            t["rl_api"] / t["psql"],
            "",
            f"floor: psql -c 'select 1'; {spread(runs['rl_api'])}",
        )
