"""Opening the files rlskit trusts without trusting the server's OS user.

As root, an embedded server runs as an unprivileged OS user, and a database
superuser can run programs as that user (``COPY ... TO PROGRAM``). So every
file rlskit reads its decisions from, or locks, is opened without following
links and checked on the open descriptor (``fstat``): a regular file (or a
folder), owned by the user running rlskit, not writable by group or others.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from rlskit.errors import UnsafeServerFile

MAX_STATE_BYTES = 64 * 1024


def _check(path: Path, st: os.stat_result, *, kind: int, owner: int) -> None:
    if stat.S_IFMT(st.st_mode) != kind:
        what = "a folder" if kind == stat.S_IFDIR else "a regular file"
        raise UnsafeServerFile(str(path), f"it is not {what}")
    if st.st_uid != owner:
        raise UnsafeServerFile(str(path), f"it belongs to uid {st.st_uid}, not {owner}")
    if st.st_mode & 0o022:
        raise UnsafeServerFile(str(path), "group or others may write it")
    if kind == stat.S_IFREG and st.st_nlink != 1:
        raise UnsafeServerFile(str(path), "it has other hard links")


def private_dir(path: Path, mode: int) -> None:
    """Create ``path`` (one level) or check it: a real folder of ours with ``mode``."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, mode)
    fd = _open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and st.st_mode & 0o7777 != mode:
            os.fchmod(fd, mode)
            st = os.fstat(fd)
        _check(path, st, kind=stat.S_IFDIR, owner=os.geteuid())
    finally:
        os.close(fd)


def check_dir(path: Path, owner: int) -> None:
    """``path`` is a real folder of ``owner`` that nobody else may write."""
    fd = _open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _check(path, os.fstat(fd), kind=stat.S_IFDIR, owner=owner)
    finally:
        os.close(fd)


def _open(path: Path, flags: int, mode: int = 0o600) -> int:
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafeServerFile(str(path), "it is a symbolic link or not a folder") from None
        raise


def read_state(path: Path) -> bytes | None:
    """The content of a state file of ours, or None when there is none."""
    try:
        fd = _open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        _check(path, os.fstat(fd), kind=stat.S_IFREG, owner=os.geteuid())
        data = fh.read(MAX_STATE_BYTES + 1)
    if len(data) > MAX_STATE_BYTES:
        raise UnsafeServerFile(str(path), "it is far larger than rlskit ever writes it")
    return data


def write_state(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with a new file of ours, mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    fd = _open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fd)
    os.replace(tmp, path)


def open_lock(path: Path) -> int:
    """A descriptor of the lock file ``path`` (created if absent, never truncated)."""
    fd = _open(path, os.O_RDWR | os.O_CREAT)
    try:
        _check(path, os.fstat(fd), kind=stat.S_IFREG, owner=os.geteuid())
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_tail(path: Path, owner: int, size: int = 4096) -> str:
    """The end of a file ``owner`` writes (a server log); empty when unsafe or absent."""
    try:
        fd = _open(path, os.O_RDONLY)
    except (OSError, UnsafeServerFile):
        return ""
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != owner or st.st_nlink != 1:
            return ""
        fh.seek(max(0, st.st_size - size))
        return fh.read(size).decode(errors="replace")


def chown_tree(path: Path, uid: int, gid: int) -> None:
    """``chown -R`` on descriptors: links are not followed, hard-linked files are skipped."""
    fd = _open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _chown_dir(fd, uid, gid)
    finally:
        os.close(fd)


def _chown_dir(dfd: int, uid: int, gid: int) -> None:
    os.fchown(dfd, uid, gid)
    for name in os.listdir(dfd):
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            os.chown(name, uid, gid, dir_fd=dfd, follow_symlinks=False)
            continue
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            continue
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(name, flags | (os.O_DIRECTORY if stat.S_ISDIR(st.st_mode) else 0), dir_fd=dfd)
        try:
            fst = os.fstat(fd)
            if stat.S_ISDIR(fst.st_mode):
                _chown_dir(fd, uid, gid)
            elif stat.S_ISREG(fst.st_mode) and fst.st_nlink == 1:
                os.fchown(fd, uid, gid)
        finally:
            os.close(fd)
