"""A superuser of an embedded cluster must not become root (issue 12, item 3).

Run as root, rlskit starts its servers as unprivileged OS users. A database
superuser runs programs as that user (``COPY ... TO PROGRAM``), so everything
that user can write is hostile input for root: the state file, the lock file,
binaries. Each attack here is carried out through SQL, then root runs the
``db`` commands (and a scratch database) and must neither execute what was
planted nor follow a planted link. The scratch and project clusters must not
read each other's files.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from rlskit.cli import cli
from rlskit.embedded import EmbeddedServer, find_bin_dir
from rlskit.project import Project
from rlskit.scratch import scratch_database

from ..conftest import REPO

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the escalation is from the server's OS user to root: run as root"
)


def _cli(proj: Path, *args: str) -> str:
    res = CliRunner().invoke(cli, ["-p", str(proj), *args])
    return res.output


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A project in a folder every user can traverse (as CI checkouts are),
    a marker folder every user can write, and a root-only victim file."""
    base = Path(tempfile.mkdtemp(prefix="rlskit-escape-"))
    os.chmod(base, 0o755)
    proj = base / "proj"
    proj.mkdir()
    shutil.copy(REPO / "alembic.ini", proj / "alembic.ini")
    shutil.copytree(
        REPO / "migrations", proj / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "sql", proj / "sql")
    (base / "drop").mkdir(mode=0o777)
    os.chmod(base / "drop", 0o777)
    (base / "secret").mkdir(mode=0o700)
    (base / "secret" / "victim").write_text("precious\n")
    try:
        yield proj
    finally:
        _cli(proj, "db", "stop")
        _kill_postmasters(base)
        for name in ("pg", "scratch"):  # clusters outside the project too
            with contextlib.suppress(Exception):
                EmbeddedServer(proj / ".rlskit" / name).destroy()
        shutil.rmtree(base, ignore_errors=True)


def _kill_postmasters(base: Path) -> None:
    """Whatever the attack left behind: stop every server under ``base``."""
    for pid_file in base.rglob("postmaster.pid"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGQUIT)


def _superuser(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


def _project_url(proj: Path) -> str:
    _cli(proj, "db", "start")
    return _cli(proj, "db", "url", "--show-password").strip()


def _as_server_user(conn: psycopg.Connection[tuple[object, ...]], script: str) -> None:
    """Run a shell script as the server's OS user, the way a superuser can."""
    program = f"echo {base64.b64encode(script.encode()).decode()} | base64 -d | sh"
    with contextlib.suppress(psycopg.Error):
        conn.execute(sql.SQL("COPY (SELECT 1) TO PROGRAM {}").format(sql.Literal(program)))


def _plant_binaries(conn: psycopg.Connection[tuple[object, ...]], home: Path) -> None:
    """Plant pg_ctl/initdb/postgres/psql that leave a marker and point
    server.json at them, to be run as root."""
    marker = home.parent.parent.parent / "drop" / "ran"
    data = Path(str(conn.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
    evil = data / "evil"
    fake = f"#!/bin/sh\nid -u >> {marker}\nexit 1\n"
    state: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        state = json.loads((home / "server.json").read_text())
    state["bin_dir"] = str(evil)
    state["os_user"] = None  # "run it as root"
    lines = [f"mkdir -p {evil}"]
    for name in ("pg_ctl", "initdb", "postgres", "psql"):
        lines += [
            f"echo {base64.b64encode(fake.encode()).decode()} | base64 -d > {evil / name}",
            f"chmod 755 {evil / name}",
        ]
    _as_server_user(conn, "\n".join(lines))
    # Each step on its own: one refused step must not hide the others.
    new_state = base64.b64encode(json.dumps(state).encode()).decode()
    _as_server_user(conn, f"rm -f {home}/server.json")
    _as_server_user(conn, f"echo {new_state} | base64 -d > {home}/server.json")


def _plant_lock_links(conn: psycopg.Connection[tuple[object, ...]], home: Path) -> None:
    """Replace every cluster's .lock with a link to a root-only file."""
    victim = home.parent.parent.parent / "secret" / "victim"
    for name in ("pg", "scratch"):
        lock = home.parent / name / ".lock"
        _as_server_user(conn, f"mkdir -p {lock.parent}; rm -f {lock}; ln -s {victim} {lock}")


def _assert_nothing_ran(proj: Path) -> None:
    base = proj.parent
    marker = base / "drop" / "ran"
    ran = marker.read_text().split() if marker.exists() else []
    assert not ran, f"a planted binary ran as uid {ran}"
    assert (base / "secret" / "victim").read_text() == "precious\n", "root followed .lock"


def _postmasters(base: Path) -> list[str]:
    out = subprocess.run(["ps", "-ww", "-eo", "args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if f"-D {base}/" in line]


def _root_uses_the_servers(proj: Path) -> None:
    """What root runs next: status, stop, start, a scratch database, stop;
    each still works, and nothing planted runs."""
    for args in (("status",), ("stop",), ("start",), ("status",)):
        out = _cli(proj, "db", *args)
        _assert_nothing_ran(proj)
    assert out.startswith("running:"), out
    with contextlib.suppress(Exception), scratch_database(Project.find(proj)):
        pass
    _assert_nothing_ran(proj)
    _cli(proj, "db", "stop")
    _assert_nothing_ran(proj)
    assert _postmasters(proj.parent) == []


def test_project_superuser_cannot_make_root_run_a_planted_pg_ctl(workdir: Path) -> None:
    proj = workdir
    with _superuser(_project_url(proj)) as conn:
        _plant_binaries(conn, proj / ".rlskit" / "pg")
    _root_uses_the_servers(proj)


def test_scratch_superuser_cannot_make_root_run_a_planted_pg_ctl(workdir: Path) -> None:
    """The scratch cluster runs the project's migrations and test probes."""
    proj = workdir
    with scratch_database(Project.find(proj)) as url, _superuser(url) as conn:
        _plant_binaries(conn, proj / ".rlskit" / "scratch")
    _root_uses_the_servers(proj)


@pytest.mark.parametrize("cluster", ["pg", "scratch"])
def test_root_does_not_follow_a_planted_lock_link(workdir: Path, cluster: str) -> None:
    proj = workdir
    if cluster == "pg":
        with _superuser(_project_url(proj)) as conn:
            _plant_lock_links(conn, proj / ".rlskit" / "pg")
    else:
        with scratch_database(Project.find(proj)) as url, _superuser(url) as conn:
            _plant_lock_links(conn, proj / ".rlskit" / "scratch")
    _root_uses_the_servers(proj)


# "shared": the project's folder is private to root, so the clusters live under
# $RLSKIT_SHARED_DIR/clusters, where the server users can reach them.
LAYOUTS = pytest.mark.parametrize("layout", ["in-project", "shared"])


def test_state_files_are_roots_and_out_of_the_server_users_reach(workdir: Path) -> None:
    """Independent of any attack: what root trusts is root's and not writable by others."""
    proj = workdir
    _project_url(proj)
    with scratch_database(Project.find(proj)):
        pass
    for name in ("pg", "scratch"):
        home = proj / ".rlskit" / name
        for path in (home, home / "server.json", home / ".lock"):
            st = path.lstat()
            assert st.st_uid == 0, path
            assert not st.st_mode & 0o022, f"{path} is writable by others"


@LAYOUTS
def test_scratch_and_project_clusters_cannot_read_each_others_files(
    workdir: Path, layout: str
) -> None:
    proj = workdir
    if layout == "shared":
        os.chmod(proj.parent, 0o700)
    with _superuser(_project_url(proj)) as project_conn:
        project_data = str(project_conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
        with scratch_database(Project.find(proj)) as url, _superuser(url) as scratch_conn:
            scratch_data = str(scratch_conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
            for conn, other in ((scratch_conn, project_data), (project_conn, scratch_data)):
                # pg_authid (relfilenode 1260) holds the password hashes
                for path in (f"{other}/global/1260", f"{other}/global/pg_control"):
                    with pytest.raises(psycopg.Error, match=r"(?i)permission denied"):
                        conn.execute("SELECT pg_read_binary_file(%s)", (path,))
                conn.execute("CREATE TEMP TABLE loot (line text)")
                with pytest.raises(psycopg.Error):
                    conn.execute(
                        sql.SQL("COPY loot FROM PROGRAM {}").format(
                            sql.Literal(f"base64 -w0 {other}/global/1260")
                        )
                    )
                conn.execute("DROP TABLE loot")


def test_a_home_an_older_rlskit_gave_the_server_user_is_taken_back(workdir: Path) -> None:
    """The layout rlskit used to make (the server user owns .rlskit/pg, root's
    server.json inside), with a planted .lock link: root takes the folder back,
    keeps the data and password, and follows nothing."""
    proj = workdir
    home = proj / ".rlskit" / "pg"
    home.mkdir(parents=True)
    old = pwd.getpwnam("nobody")
    os.chown(home, old.pw_uid, old.pw_gid)
    bin_dir = find_bin_dir()
    password = "legacy-secret"
    pwfile = home / ".pwfile"
    pwfile.write_text(password + "\n")
    os.chown(pwfile, old.pw_uid, old.pw_gid)
    as_old = {"user": old.pw_uid, "group": old.pw_gid, "extra_groups": [], "cwd": str(home)}
    data = home / "data"
    subprocess.run(
        [bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=scram-sha-256",
         f"--pwfile={pwfile}", "--no-sync", "--no-instructions"],
        check=True, capture_output=True, **as_old,  # type: ignore[arg-type]
    )  # fmt: skip
    pwfile.unlink()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = {"port": port, "password": password, "data_dir": str(data),
             "bin_dir": str(bin_dir), "os_user": "nobody", "version": "17"}  # fmt: skip
    fd = os.open(home / "server.json", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(state, fh)
    subprocess.run(
        [bin_dir / "pg_ctl", "start", "-w", "-D", data, "-l", home / "server.log", "-o",
         f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"],
        check=True, capture_output=True, **as_old,  # type: ignore[arg-type]
    )  # fmt: skip
    url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    with _superuser(url) as conn:
        conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('data')")
        _plant_lock_links(conn, home)

    status = _cli(proj, "db", "status")
    assert status.startswith("stopped:") and "runs as OS user rlskit-pg" in status, status
    _root_uses_the_servers(proj)
    assert home.stat().st_uid == 0 and (home / "server.json").stat().st_uid == 0
    assert (home / "cluster" / "data").stat().st_uid == pwd.getpwnam("rlskit-pg").pw_uid
    _cli(proj, "db", "start")
    with _superuser(url) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("data",)]


def test_a_cluster_run_by_another_os_user_is_handed_to_its_own(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clusters an older rlskit ran as postgres/nobody (both kinds as the same
    user) move to rlskit-pg / rlskit-scratch, data kept."""
    proj = workdir
    monkeypatch.setenv("RLSKIT_PG_OS_USER", "nobody")
    with _superuser(_project_url(proj)) as conn:
        conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('data')")
        data = str(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
    assert Path(data).stat().st_uid == pwd.getpwnam("nobody").pw_uid
    monkeypatch.delenv("RLSKIT_PG_OS_USER")
    with _superuser(_project_url(proj)) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("data",)]
    owner = pwd.getpwnam("rlskit-pg").pw_uid
    assert Path(data).stat().st_uid == owner
    assert all(p.lstat().st_uid == owner for p in Path(data).rglob("*"))
    assert "runs as OS user rlskit-pg" in _cli(proj, "db", "status")


def test_no_server_user_is_a_clear_error_and_never_root(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = workdir
    monkeypatch.setenv("RLSKIT_PG_OS_USER", "not a valid name!")
    out = _cli(proj, "db", "start")
    assert "could not be created" in out and "RLSKIT_PG_OS_USER" in out, out
    assert not (proj / ".rlskit" / "pg" / "cluster").exists()
    monkeypatch.setenv("RLSKIT_PG_OS_USER", "root")
    assert "unprivileged" in _cli(proj, "db", "start")
    monkeypatch.setenv("RLSKIT_PG_OS_USER", "rlskit-scratch")
    assert "different users" in _cli(proj, "db", "start")
    assert _postmasters(proj.parent) == []
