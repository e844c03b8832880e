"""An embedded PostgreSQL cluster: created, started, shared and stopped on demand.

Layout of a cluster's home (``<project>/.rlskit/pg``, ``.../scratch``)::

    home/             the invoking user's; 0711 as root, else 0700
      server.json     port, password, data folder, OS user (0600)
      .lock           serialises init/start/stop between processes
      .users          a shared lock per command using the server (``lease``)
      cluster/        the server's OS user's, 0700: data/ and server.log

Root trusts only ``home``: the server user (and so any database superuser,
through ``COPY ... TO PROGRAM``) can write ``cluster/`` but nothing root reads
its decisions from or runs. The binaries are looked up on every use
(``binaries.find_bin_dir``), never read from the state. As root, when the
server user cannot reach ``home``, ``cluster/`` is
``$RLSKIT_SHARED_DIR/clusters/<hash>`` instead (FINDINGS §7).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
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

from rlskit.errors import EmbeddedServerError, UnsafeServerFile
from rlskit.quoting import quote_ident
from rlskit.servers import accounts, binaries, files

SUPERUSER = "postgres"
DATABASE = "rlskit"


@dataclass
class ServerState:
    """What ``server.json`` remembers about a cluster."""

    port: int
    password: str
    data_dir: str
    os_user: str | None
    version: str
    superuser: str = SUPERUSER
    database: str = DATABASE

    @classmethod
    def parse(cls, raw: bytes) -> ServerState:
        """Read the JSON; keys of older versions (``bin_dir``) are ignored."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise TypeError("not an object")
        names = {f.name for f in dataclasses.fields(cls)}
        st = cls(**{k: v for k, v in data.items() if k in names})
        if not (
            isinstance(st.port, int)
            and isinstance(st.password, str)
            and isinstance(st.data_dir, str)
            and os.path.isabs(st.data_dir)
            and (st.os_user is None or isinstance(st.os_user, str))
        ):
            raise TypeError("unexpected field types")
        return st


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


def _sweep_orphaned_scratch_clusters(clusters: Path) -> None:
    """Delete scratch clusters under the shared root whose project folder is gone.

    Scratch clusters hold nothing of value; a project's own cluster is never
    deleted this way. A cluster still running is left alone.
    """
    for note in clusters.glob("*.json"):
        with contextlib.suppress(OSError, ValueError, TypeError, EmbeddedServerError):
            raw = files.read_state(note)  # root's own note, or skipped
            info = json.loads(raw or b"{}")
            cluster = note.with_suffix("")
            if (
                info.get("kind") == "scratch"
                and not os.path.lexists(info["home"])
                and not (cluster / "data" / "postmaster.pid").exists()
            ):
                shutil.rmtree(cluster, ignore_errors=True)
                note.unlink()


class EmbeddedServer:
    """A PostgreSQL cluster under ``home``; ``kind`` picks its OS user as root."""

    def __init__(self, home: Path, *, fast: bool = False, kind: str = "project") -> None:
        if kind not in accounts.KINDS:
            raise ValueError(f"unknown server kind {kind!r}")
        self.home = home.absolute()
        self.fast = fast  # fsync off: for throw-away clusters
        self.kind = kind
        self.state_file = self.home / "server.json"
        self._bin_dirs: dict[str | None, Path] = {}

    # -- the home folder and state -------------------------------------
    def _check_home(self, *, create: bool) -> bool:
        """Check (or make) ``home`` and, as root, its parent; False if it does not exist."""
        root = os.geteuid() == 0
        if create:
            self.home.parent.mkdir(parents=True, exist_ok=True)
        elif not os.path.lexists(self.home):
            return False
        if root:
            try:
                files.check_dir(self.home.parent, 0)
            except UnsafeServerFile as exc:
                raise UnsafeServerFile(
                    exc.path,
                    exc.reason,
                    "Another user could swap the servers' folders in it. Check what it "
                    f"holds, then make it root's alone (chown root: {exc.path}; chmod go-w "
                    f"{exc.path}), or remove it.",
                ) from None
        try:
            st = os.lstat(self.home)
        except FileNotFoundError:
            if not create:
                return False
        else:
            if root and st.st_uid != 0:
                self._adopt_legacy_home()
        files.private_dir(self.home, 0o711 if root else 0o700)
        return True

    def _adopt_legacy_home(self) -> None:
        """As root, take back a home an older rlskit let the server's OS user own.

        Its server is stopped (with our binaries, as its user), the folder becomes
        root's, and the data moves to ``cluster/``, re-owned by this kind's user.
        Only the port and password of the old state are kept, and only if root
        wrote the file.
        """
        lock = files.open_lock(self.home.parent / f".{self.home.name}.adopt.lock")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            st = os.lstat(self.home)
            if st.st_uid == 0:
                return  # another process did it meanwhile
            manual = (
                "Stop that server as its user (runuser -u <user> -- pg_ctl stop -D "
                f"{self.home}/data), move the folder aside (mv {self.home} {self.home}.old) "
                "and run the command again: a fresh server is made (dump its data first "
                "with pg_dump if you need it)."
            )
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafeServerFile(str(self.home), "it is not a folder")
            try:
                old = pwd.getpwuid(st.st_uid)
            except KeyError:
                raise UnsafeServerFile(
                    str(self.home), f"it belongs to uid {st.st_uid}, who no longer exists", manual
                ) from None
            data = self.home / "data"
            if (data / "postmaster.pid").exists():
                subprocess.run(
                    [str(self._bin_dir(old) / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", data],
                    capture_output=True,
                    cwd="/",
                    env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
                    user=old.pw_uid,
                    group=old.pw_gid,
                    extra_groups=[],
                    timeout=90,
                    check=False,
                )
            # From here on the old owner can add, remove or rename nothing in the folder.
            fd = os.open(self.home, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                os.fchown(fd, 0, 0)
                os.fchmod(fd, 0o711)
            finally:
                os.close(fd)
            legacy: ServerState | None = None
            with contextlib.suppress(UnsafeServerFile, ValueError, TypeError):
                raw = files.read_state(self.state_file)
                legacy = ServerState.parse(raw) if raw else None
            if legacy is None or (data / "postmaster.pid").exists():
                raise UnsafeServerFile(
                    str(self.home),
                    "it was made by an older rlskit, and its server still runs or its "
                    "server.json was replaced by the server's OS user",
                    manual,
                )
            user = accounts.service_user(self.kind)
            assert user is not None  # we are root
            for name in (".lock", ".pwfile", "server.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.home / name)
            cluster = self.home / "cluster"
            os.mkdir(cluster, 0o700)  # root's until the end: nobody else reaches inside
            os.rename(data, cluster / "data")
            with contextlib.suppress(FileNotFoundError):
                os.rename(self.home / "server.log", cluster / "server.log")
            files.chown_tree(cluster, user.pw_uid, user.pw_gid)
            self._save(
                dataclasses.replace(legacy, data_dir=str(cluster / "data"), os_user=user.pw_name)
            )
        finally:
            os.close(lock)

    def _load(self) -> ServerState | None:
        if not self._check_home(create=False):
            return None
        raw = files.read_state(self.state_file)
        if raw is None:
            return None
        try:
            return ServerState.parse(raw)
        except (ValueError, TypeError) as exc:
            raise EmbeddedServerError(
                f"{self.state_file} is damaged ({exc}).",
                "Remove the folder to start a fresh embedded database "
                "(its data is lost), or repair the file.",
            ) from exc

    def _save(self, st: ServerState) -> None:
        files.write_state(self.state_file, json.dumps(asdict(st), indent=2).encode())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._check_home(create=True)
        fd = files.open_lock(self.home / ".lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- who runs what -------------------------------------------------
    def _user(self, st: ServerState) -> pwd.struct_passwd | None:
        if st.os_user is None:
            if os.geteuid() == 0:
                raise EmbeddedServerError(
                    f"The cluster in {self.home} was made by a normal user; as root rlskit "
                    "runs no server as root.",
                    "Run rlskit as the user who made it.",
                )
            return None
        try:
            return pwd.getpwnam(st.os_user)
        except KeyError:
            raise EmbeddedServerError(
                f"OS user {st.os_user}, whom the cluster in {self.home} runs as, is gone.",
                f"Create it again (useradd --system {st.os_user}) or remove {self.home}.",
            ) from None

    def _bin_dir(self, user: pwd.struct_passwd | None) -> Path:
        key = user.pw_name if user else None
        if key not in self._bin_dirs:
            self._bin_dirs[key] = binaries.reachable_bin_dir(binaries.find_bin_dir(), user)
        return self._bin_dirs[key]

    def _run(
        self,
        st: ServerState,
        tool: str,
        args: list[str],
        *,
        check: bool = True,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        user = self._user(st)
        exe = str(self._bin_dir(user) / tool)
        cluster = Path(st.data_dir).parent
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        kwargs: dict[str, object] = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            env["HOME"] = str(cluster)
        try:
            proc: subprocess.CompletedProcess[str] = subprocess.run(
                [exe, *args],
                capture_output=True,
                text=True,
                env=env,
                cwd=str(cluster),
                timeout=timeout,
                check=False,
                **kwargs,  # type: ignore[call-overload]
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EmbeddedServerError(f"Running {tool} failed: {exc}.") from exc
        if check and proc.returncode != 0:
            raise EmbeddedServerError(
                f"{tool} failed (exit {proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()[-600:]}{self._log_tail(st)}",
                f"The embedded database lives in {self.home}; `rlskit db status` shows it.",
            )
        return proc

    def _log_tail(self, st: ServerState) -> str:
        user = self._user(st)
        owner = user.pw_uid if user else os.geteuid()
        text = files.read_tail(Path(st.data_dir).parent / "server.log", owner)
        lines = text.strip().splitlines()[-5:]
        return " Server log: " + " | ".join(lines) if lines else ""

    # -- setup ---------------------------------------------------------
    def _cluster_dir(self, user: pwd.struct_passwd | None) -> Path:
        if user is None or binaries.traversable_by_others(self.home):
            return self.home / "cluster"
        root = binaries.shared_root()
        binaries.secure_shared_dir(root, 0o755)
        binaries.secure_shared_dir(root / "clusters", 0o711)
        clusters = root / "clusters"
        _sweep_orphaned_scratch_clusters(clusters)
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:16]
        note = {"home": str(self.home), "kind": self.kind}
        files.write_state(clusters / f"{digest}.json", json.dumps(note).encode())
        return clusters / digest

    def init(self) -> ServerState:
        """Create the cluster (idempotent; call with the lock held); return its state."""
        st = self._load()
        if st is not None and (Path(st.data_dir) / "PG_VERSION").exists():
            return st
        user = accounts.service_user(self.kind)
        bin_dir = self._bin_dir(user)
        cluster = self._cluster_dir(user)
        if os.path.lexists(cluster):
            shutil.rmtree(cluster)  # a failed earlier init (rmtree does not follow links)
        os.mkdir(cluster, 0o700)
        st = ServerState(
            port=_free_port(),
            password=secrets.token_urlsafe(24),
            data_dir=str(cluster / "data"),
            os_user=user.pw_name if user else None,
            version=binaries.server_version(bin_dir),
        )
        # written while the folder is still ours alone, then handed over
        pwfile = cluster / ".pwfile"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(st.password + "\n")
            if user is not None:
                os.fchown(fd, user.pw_uid, user.pw_gid)
        if user is not None:
            os.chown(cluster, user.pw_uid, user.pw_gid, follow_symlinks=False)
        try:
            self._run(
                st,
                "initdb",
                [
                    "-D",
                    st.data_dir,
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
        except BaseException:
            shutil.rmtree(cluster, ignore_errors=True)
            raise
        finally:
            pwfile.unlink(missing_ok=True)
        self._save(st)
        return st

    # -- lifecycle -----------------------------------------------------
    def is_running(self, st: ServerState | None = None) -> bool:
        """Whether the cluster's postmaster is up."""
        st = st or self._load()
        if st is None or not (Path(st.data_dir) / "PG_VERSION").exists():
            return False
        return self._run(st, "pg_ctl", ["status", "-D", st.data_dir], check=False).returncode == 0

    def start(self) -> ServerState:
        """Initialise if needed, start if not running, create the default database."""
        with self._locked():
            return self._start()

    def _start(self) -> ServerState:
        st = self.init()
        st = self._reown(st)
        if self.is_running(st):
            return st
        if not _port_free(st.port):
            st.port = _free_port()
            self._save(st)
        # Settings on the command line, not in postgresql.conf: they come from
        # us on every start and override what a superuser writes with ALTER SYSTEM.
        opts = [
            f"-p {st.port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            "-c max_connections=100",
        ]
        if self.fast:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        log = Path(st.data_dir).parent / "server.log"
        self._run(
            st,
            "pg_ctl",
            ["start", "-w", "-t", "60", "-D", st.data_dir, "-l", str(log), "-o", " ".join(opts)],
            timeout=90,
        )
        self._ensure_database(st)
        return st

    def _reown(self, st: ServerState) -> ServerState:
        """As root, hand a cluster another OS user runs (an older rlskit's
        ``postgres``/``nobody``, or a changed setting) to this kind's user."""
        want = accounts.service_user(self.kind)
        if want is None or st.os_user == want.pw_name:
            return st
        if self.is_running(st):
            self._run(st, "pg_ctl", ["stop", "-w", "-m", "fast", "-D", st.data_dir])
        cluster = Path(st.data_dir).parent
        files.check_dir(cluster.parent, 0)  # only root can swap the cluster folder
        files.chown_tree(cluster, want.pw_uid, want.pw_gid)
        os.chmod(cluster, 0o700)
        st = dataclasses.replace(st, os_user=want.pw_name)
        self._save(st)
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
        if self._load() is None:
            return False
        with self._locked():
            return self._stop()

    def _stop(self) -> bool:
        st = self._load()
        if st is None or not self.is_running(st):
            return False
        self._run(st, "pg_ctl", ["stop", "-w", "-m", "fast", "-D", st.data_dir])
        return True

    @contextlib.contextmanager
    def lease(self, *, keep: bool = False) -> Iterator[ServerState]:
        """Use the server (starting it if needed); the last user stops it unless ``keep``.

        Each user holds a shared lock on ``.users`` while it works; a process
        that dies releases it with its descriptors.
        """
        with self._locked():
            st = self._start()
            users = files.open_lock(self.home / ".users")
            fcntl.flock(users, fcntl.LOCK_SH)
        try:
            yield st
        finally:
            try:
                with self._locked():
                    try:
                        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        pass  # another command still uses it
                    else:
                        if not keep:
                            self._stop()
            finally:
                os.close(users)

    def status(self) -> ServerStatus:
        """Describe the cluster without starting it."""
        st = self._load()
        if st is None:
            return ServerStatus(False, False, None, None, None, None, None)
        bin_dir: str | None = None
        with contextlib.suppress(EmbeddedServerError):
            bin_dir = str(self._bin_dir(self._user(st)))
        return ServerStatus(
            True, self.is_running(st), st.port, st.data_dir, bin_dir, st.version, st.os_user
        )

    def destroy(self) -> None:
        """Stop the server and delete its data."""
        st = self._load()
        if st is not None:
            with contextlib.suppress(EmbeddedServerError):
                self.stop()
            cluster = Path(st.data_dir).parent
            shutil.rmtree(cluster, ignore_errors=True)
            if cluster.parent == binaries.shared_root() / "clusters":
                Path(f"{cluster}.json").unlink(missing_ok=True)
        shutil.rmtree(self.home, ignore_errors=True)

    # -- connection ----------------------------------------------------
    def _state(self) -> ServerState:
        st = self._load()
        if st is None:
            raise EmbeddedServerError(
                "The embedded database has not been created yet.", "Run `rlskit db start`."
            )
        return st

    def url(
        self, database: str | None = None, *, user: str | None = None, password: str | None = None
    ) -> str:
        """A libpq URL for the (started) server, password included."""
        st = self._state()
        u = quote(user or st.superuser, safe="")
        p = quote(password if password is not None else st.password, safe="")
        return f"postgresql://{u}:{p}@127.0.0.1:{st.port}/{quote(database or st.database)}"

    def running_url(self) -> str | None:
        """The URL of the server when it already runs as :meth:`start` would leave it
        (state saved, run by this kind's OS user, a postmaster.pid in its data
        folder, its postmaster alive); None when :meth:`start` has something to do.
        Starts and repairs nothing. Whoever connects should insist on SCRAM
        (``require_auth``), as the server was made with: a process that took the
        port after a crash then learns nothing of the password."""
        try:
            st = self._load()
            if st is None:
                return None
            if os.geteuid() == 0 and st.os_user != accounts.user_name(self.kind):
                return None  # start would hand it to another OS user
            pid = int((Path(st.data_dir) / "postmaster.pid").read_text().split("\n", 1)[0])
            os.kill(pid, 0)  # a stale pid file: start has work to do
        except PermissionError:
            pass  # alive, another user's: the caller insists on SCRAM (rlskit.entry)
        except (EmbeddedServerError, OSError, ValueError):
            return None
        return self.url()

    def psql_env(self) -> dict[str, str]:
        """Environment for running ``psql`` against the server without a password prompt."""
        st = self._state()
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
        bin_dir = self._bin_dir(self._user(st)) if st else binaries.find_bin_dir()
        path = bin_dir / name
        if path.is_file():
            return str(path)
        found = shutil.which(name)
        if found:
            return found
        raise EmbeddedServerError(f"{name} was not found next to the server binaries ({bin_dir}).")


__all__ = ["DATABASE", "SUPERUSER", "EmbeddedServer", "ServerState", "ServerStatus"]
