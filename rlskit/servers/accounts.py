"""The OS users embedded servers run as.

PostgreSQL refuses to run as root. As root, each kind of embedded cluster runs
as an unprivileged system user of its own (``rlskit-pg`` for projects'
servers, ``rlskit-scratch`` for scratch servers), created with ``useradd`` if
absent. Their data folders are mode 0700, so a superuser of one cluster
cannot read the other's files. As a normal user, every cluster runs as that
user: the boundary is then the user account itself.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess

from rlskit.errors import EmbeddedServerError

#: kind -> (environment variable that overrides it, default OS user)
KINDS: dict[str, tuple[str, str]] = {
    "project": ("RLSKIT_PG_OS_USER", "rlskit-pg"),
    "scratch": ("RLSKIT_SCRATCH_OS_USER", "rlskit-scratch"),
}


def user_name(kind: str) -> str:
    """The OS user a cluster of ``kind`` runs as when rlskit runs as root."""
    env, default = KINDS[kind]
    return os.environ.get(env) or default


def service_user(kind: str) -> pwd.struct_passwd | None:
    """The OS user to run a new cluster of ``kind`` as; None when we are not root."""
    if os.geteuid() != 0:
        return None
    name = user_name(kind)
    others = {user_name(k): KINDS[k][0] for k in KINDS if k != kind}
    if name in others:
        raise EmbeddedServerError(
            f"The {kind} server and another kind of embedded server would both run as "
            f"OS user {name}; a database superuser of one could then read the other's files.",
            f"Give {KINDS[kind][0]} and {others[name]} different users.",
        )
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        user = _create(name, kind)
    if user.pw_uid == 0:
        raise EmbeddedServerError(
            f"OS user {name} is root; PostgreSQL must run as an unprivileged user.",
            f"Set {KINDS[kind][0]} to an unprivileged user.",
        )
    return user


def _create(name: str, kind: str) -> pwd.struct_passwd:
    env = KINDS[kind][0]
    useradd = shutil.which("useradd") or next(
        (p for p in ("/usr/sbin/useradd", "/sbin/useradd") if os.path.exists(p)), None
    )
    detail = "useradd was not found"
    if useradd:
        proc = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                f"rlskit embedded PostgreSQL ({kind})",
                name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        detail = (proc.stderr or proc.stdout).strip() or f"exit {proc.returncode}"
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)  # created now, or by a concurrent rlskit
    raise EmbeddedServerError(
        f"Running as root, the embedded {kind} server runs as the unprivileged OS user "
        f"{name}, which does not exist and could not be created ({detail}).",
        f"Create it (useradd --system --user-group {name}) or set {env} to an existing "
        "unprivileged user that no other kind of embedded server uses.",
    )
