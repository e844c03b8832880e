"""rlskit fleet: many databases and schemas, canaries, resume, concurrency (real server)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from rlskit.errors import SpecError
from rlskit.fleet import targets
from tests.conftest import Server, rlskit, write_revision

PW_VAR = "RLSKIT_TEST_FLEET_PW"

UP1 = """CREATE TABLE deploy_log (rev text NOT NULL);
CREATE TABLE items (id int PRIMARY KEY, tenant int NOT NULL);
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
INSERT INTO deploy_log VALUES ('0001');
"""
UP2 = """CREATE POLICY items_tenant ON items USING (tenant = 1);
SELECT pg_sleep(0.05);
INSERT INTO deploy_log VALUES ('0002');
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A project whose SQL is schema-relative (works per database and per schema)."""
    proj = tmp_path / "tiny"
    assert rlskit("init", str(proj)).exit_code == 0
    write_revision(proj, "0001", UP1, "DROP TABLE items; DROP TABLE deploy_log;", message="items")
    write_revision(proj, "0002", UP2, "DROP POLICY items_tenant ON items;", message="policy")
    return proj


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


class Fleet:
    """N fresh databases on the test server, and a fleet file naming them."""

    def __init__(self, server: Server, n: int, prefix: str) -> None:
        self.server = server
        st = urlsplit(server.url())
        self.user, self.password, self.port = st.username, st.password, st.port
        self.names = [f"{prefix}_{i:03d}" for i in range(n)]
        with server.admin() as c:
            for name in self.names:
                c.execute(f'DROP DATABASE IF EXISTS "{name}"')
                c.execute(f'CREATE DATABASE "{name}"')

    def url(self, db: str, *, port: int | None = None) -> str:
        return f"postgresql://{self.user}:${{{PW_VAR}}}@127.0.0.1:{port or self.port}/{db}"

    def write(self, path: Path, extra: str = "") -> Path:
        lines = ["targets:"]
        for name in self.names:
            lines += [f"  - name: {name}", f"    url: {self.url(name)}", "    tags: [eu]"]
        path.write_text("\n".join(lines) + "\n" + extra)
        return path

    @property
    def env(self) -> dict[str, str]:
        assert self.password is not None
        return {PW_VAR: self.password}

    def log(self, db: str, schema: str = "public") -> list[str]:
        with psycopg.connect(self.server.url(db), autocommit=True) as c:
            if (
                c.execute("SELECT to_regclass(%s)", (f'"{schema}".deploy_log',)).fetchone()[0]
                is None
            ):
                return []
            return [r[0] for r in c.execute(f'SELECT rev FROM "{schema}".deploy_log ORDER BY rev')]

    def drop(self) -> None:
        with self.server.admin() as c:
            for name in self.names:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fleet50(server: Server) -> Iterator[Fleet]:
    f = Fleet(server, 50, "fleet")
    yield f
    f.drop()


def fleet_cli(
    proj: Path, *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "rlskit"
    return subprocess.run(
        [str(exe), "-p", str(proj), "fleet", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- the fleet file (pure) -----------------------------------------------------------------
def test_fleet_file_refuses_a_literal_password(tmp_path: Path) -> None:
    for url in (
        "postgresql://u:secret@h/db",
        "postgresql://u@h/db?password=secret",
        "host=h password=secret",
        "postgresql://u:pre${X}@h/db",
    ):
        with pytest.raises(SpecError, match="holds a password") as e:
            targets.parse(
                f"targets:\n  - name: a\n    url: {url}\n", tmp_path / "f.yaml", {"X": "x"}
            )
        assert "secret" not in str(e.value)
    ok = targets.parse(
        "targets:\n  - name: a\n    url: postgresql://u:${PW}@h/db\n",
        tmp_path / "f.yaml",
        {"PW": "s3"},
    )
    assert ok.targets[0].url == "postgresql://u:s3@h/db"
    assert "s3" not in ok.targets[0].display_url and "s3" not in repr(ok.targets[0])


def test_fleet_file_errors_name_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"f.yaml:3: the environment variable NOPE_X"):
        targets.parse("targets:\n  - name: a\n    url: ${NOPE_X}\n", tmp_path / "f.yaml", {})
    with pytest.raises(SpecError, match="twice"):
        targets.parse(
            "targets:\n  - {name: a, url: 'postgresql://h/a'}\n  - {name: a, url: 'postgresql://h/b'}\n",
            tmp_path / "f.yaml",
            {},
        )
    with pytest.raises(SpecError, match="unknown key 'passwd'"):
        targets.parse(
            "targets:\n  - {name: a, url: 'postgresql://h/a', passwd: x}\n", tmp_path / "f.yaml", {}
        )


# -- upgrade on 50 databases --------------------------------------------------------------
def test_fleet_upgrade_50_databases_reports_failures_and_resumes(
    tiny: Path, fleet50: Fleet, server: Server, tmp_path: Path
) -> None:
    broken = fleet50.names[7]
    with psycopg.connect(server.url(broken), autocommit=True) as c:
        c.execute("CREATE TABLE items (x int)")  # revision 0001 fails here
    extra = f"  - name: down\n    url: {fleet50.url('nowhere', port=_closed_port())}\n"
    ff = fleet50.write(tmp_path / "fleet.yaml", extra)
    r = fleet_cli(tiny, "upgrade", "--fleet", str(ff), "--jobs", "4", env=fleet50.env)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "50 succeeded" not in out and "49 succeeded, 1 failed, 1 unreachable" in out, out
    assert f"{broken}" in out and "sql/0001_items.up.sql:2" in out
    for name in fleet50.names:
        assert fleet50.log(name) == ([] if name == broken else ["0001", "0002"]), name
    assert fleet50.password not in r.stdout + r.stderr
    state = (tiny / ".rlskit" / "fleet-state.json").read_text()
    assert fleet50.password not in state

    # rerun: finished targets are skipped, the broken one is retried (and fixed now)
    with psycopg.connect(server.url(broken), autocommit=True) as c:
        c.execute("DROP TABLE items")
    r2 = fleet_cli(tiny, "upgrade", "--fleet", str(ff), "--jobs", "4", env=fleet50.env)
    assert "50 succeeded (49 in an earlier run, marked *)" in r2.stdout, r2.stdout + r2.stderr
    for name in fleet50.names:
        assert fleet50.log(name) == ["0001", "0002"], name

    # status of the fleet, as JSON
    s = fleet_cli(tiny, "status", "--fleet", str(ff), "--format", "json", env=fleet50.env)
    data = json.loads(s.stdout)
    by = {t["name"]: t for t in data["targets"]}
    assert by["down"]["status"] == "unreachable"
    assert all(
        by[n]["data"]["revision"] == "0002" and by[n]["data"]["pending"] == []
        for n in fleet50.names
    )
    assert s.returncode == 1  # one target unreachable


def test_fleet_canary_and_failure_budget(tiny: Path, server: Server, tmp_path: Path) -> None:
    f = Fleet(server, 8, "canary")
    try:
        with psycopg.connect(server.url(f.names[0]), autocommit=True) as c:
            c.execute("CREATE TABLE items (x int)")
        ff = f.write(tmp_path / "fleet.yaml")
        r = fleet_cli(tiny, "upgrade", "--fleet", str(ff), "--canary", "2", env=f.env)
        assert r.returncode == 1
        assert "canary failed on canary_000" in r.stdout
        assert "6 skipped" in r.stdout
        assert all(f.log(n) == [] for n in f.names[2:]), "a canary failure must stop the fleet"
        assert f.log(f.names[1]) == ["0001", "0002"]
        for n in f.names[1:4]:
            with psycopg.connect(server.url(n), autocommit=True) as c:
                c.execute("CREATE TABLE IF NOT EXISTS items (x int)")
        r = fleet_cli(
            tiny,
            "upgrade",
            "--fleet",
            str(ff),
            "--jobs",
            "1",
            "--max-failures",
            "2",
            "--fresh",
            env=f.env,
        )
        assert "stopped after 2 failure(s)" in r.stdout, r.stdout
        assert f.log(f.names[5]) == [], "no new target starts after the failure budget is spent"
    finally:
        f.drop()


# -- schema per tenant ---------------------------------------------------------------------
def test_fleet_upgrade_50_schemas_of_one_database(
    tiny: Path, server: Server, tmp_path: Path
) -> None:
    f = Fleet(server, 1, "tenants")
    db = f.names[0]
    try:
        with psycopg.connect(server.url(db), autocommit=True) as c:
            for i in range(25):
                c.execute(f"CREATE SCHEMA tenant_{i:02d}")
        listed = ", ".join(f'"t {i:02d}"' for i in range(25))  # names with a space, not created yet
        ff = tmp_path / "fleet.yaml"
        ff.write_text(
            "schemas:\n"
            f"  - url: {f.url(db)}\n"
            f"    names: [{listed}]\n"
            "    sql: SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' ORDER BY 1\n"
        )
        r = fleet_cli(tiny, "upgrade", "--fleet", str(ff), "--jobs", "4", env=f.env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "50 succeeded" in r.stdout
        with psycopg.connect(server.url(db), autocommit=True) as c:
            schemas = [
                r[0]
                for r in c.execute(
                    "SELECT n.nspname FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace "
                    "WHERE t.relname = 'alembic_version' ORDER BY 1"
                )
            ]
            assert len(schemas) == 50, "each schema has its own version table"
            assert c.execute("SELECT to_regclass('public.items')").fetchone()[0] is None
        for s in ["t 00", "t 24", "tenant_00", "tenant_24"]:
            assert f.log(db, s) == ["0001", "0002"], s
        r2 = fleet_cli(tiny, "upgrade", "--fleet", str(ff), "--fresh", env=f.env)
        assert r2.returncode == 0 and "nothing to do" in r2.stdout
    finally:
        f.drop()


# -- kill -9 and concurrent runs -----------------------------------------------------------
def _wait_for_outcomes(state: Path, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            runs = json.loads(state.read_text())["runs"]
            if sum(len(v) for v in runs.values()) >= n:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError("the fleet run made no progress")


def test_fleet_kill_9_then_rerun_applies_nothing_twice(
    tiny: Path, server: Server, tmp_path: Path
) -> None:
    f = Fleet(server, 20, "killed")
    try:
        ff = f.write(tmp_path / "fleet.yaml")
        state = tmp_path / "state.json"
        exe = Path(sys.executable).parent / "rlskit"
        proc = subprocess.Popen(
            [
                str(exe),
                "-p",
                str(tiny),
                "fleet",
                "upgrade",
                "--fleet",
                str(ff),
                "--jobs",
                "2",
                "--state",
                str(state),
            ],
            env={**os.environ, **f.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_outcomes(state, 3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.5)
        left = subprocess.run(["pgrep", "-f", f"--state {state}"], capture_output=True, text=True)
        assert left.stdout.strip() == "", "fleet workers outlived the fleet process"
        done_before = sum(1 for n in f.names if f.log(n))
        assert 3 <= done_before < 20
        r = fleet_cli(
            tiny, "upgrade", "--fleet", str(ff), "--jobs", "2", "--state", str(state), env=f.env
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert "20 succeeded" in r.stdout
        for n in f.names:
            assert f.log(n) == ["0001", "0002"], n
    finally:
        f.drop()


def test_two_concurrent_fleet_runs_never_double_apply(
    tiny: Path, server: Server, tmp_path: Path
) -> None:
    f = Fleet(server, 20, "twice")
    try:
        ff = f.write(tmp_path / "fleet.yaml")
        exe = Path(sys.executable).parent / "rlskit"
        procs = [
            subprocess.Popen(
                [
                    str(exe),
                    "-p",
                    str(tiny),
                    "fleet",
                    "upgrade",
                    "--fleet",
                    str(ff),
                    "--jobs",
                    "3",
                    "--state",
                    str(tmp_path / f"state{i}.json"),
                ],
                env={**os.environ, **f.env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(2)
        ]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        for n in f.names:
            assert f.log(n) == ["0001", "0002"], n
    finally:
        f.drop()


# -- drift and test across the fleet -------------------------------------------------------
def test_fleet_drift_and_test(
    tiny: Path, server: Server, scratch_server: Server, tmp_path: Path
) -> None:
    f = Fleet(server, 3, "checks")
    try:
        (tiny / "tests" / "rls").mkdir(parents=True)
        (tiny / "tests" / "rls" / "items.yaml").write_text(
            "fixtures: |\n  INSERT INTO items VALUES (1, 1), (2, 2);\n"
            "actors:\n  reader: {role: fleet_reader}\n"
            "cases:\n- name: tenant 1 only\n  probe: SELECT * FROM items\n  expect: {reader: 1}\n"
        )
        write_revision(
            tiny,
            "0003",
            # roles are per cluster and the targets share one: concurrent jobs race here
            "DO $$ BEGIN CREATE ROLE fleet_reader NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;\n"
            "GRANT SELECT ON items TO fleet_reader;\n",
            "REVOKE SELECT ON items FROM fleet_reader;",
            message="reader",
        )
        ff = f.write(tmp_path / "fleet.yaml")
        up = fleet_cli(tiny, "upgrade", "--fleet", str(ff), env=f.env)
        assert up.returncode == 0, up.stdout + up.stderr
        with psycopg.connect(server.url(f.names[1]), autocommit=True) as c:
            c.execute("DROP POLICY items_tenant ON items")
        r = fleet_cli(tiny, "drift", "--fleet", str(ff), env=f.env)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "2 succeeded, 1 failed" in r.stdout and f.names[1] in r.stdout
        t = fleet_cli(tiny, "test", "--fleet", str(ff), "--format", "json", env=f.env)
        data = json.loads(t.stdout)
        assert t.returncode == 0, t.stdout + t.stderr
        assert {x["data"]["revision"] for x in data["targets"]} == {"0003"}
    finally:
        f.drop()
        with server.admin() as c:
            c.execute("DROP ROLE IF EXISTS fleet_reader")
