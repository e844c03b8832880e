"""How rlskit opens the files it trusts about its servers (rlskit.servers.files):
links are never followed, files of others or with other links are refused."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from rlskit.errors import UnsafeServerFile
from rlskit.servers import files

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs a second OS user: run as root")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "victim").write_text("precious\n")
    home = tmp_path / "home"
    files.private_dir(home, 0o700)
    return home


def test_state_and_lock_links_are_not_followed(home: Path) -> None:
    victim = home.parent / "victim"
    (home / "server.json").symlink_to(victim)
    (home / ".lock").symlink_to(victim)
    with pytest.raises(UnsafeServerFile, match="link"):
        files.read_state(home / "server.json")
    with pytest.raises(UnsafeServerFile, match="link"):
        files.open_lock(home / ".lock")
    assert victim.read_text() == "precious\n"


def test_hard_links_and_writable_files_are_refused(home: Path) -> None:
    os.link(home.parent / "victim", home / "server.json")
    with pytest.raises(UnsafeServerFile, match="hard links"):
        files.read_state(home / "server.json")
    (home / "server.json").unlink()
    files.write_state(home / "server.json", b"{}")
    assert files.read_state(home / "server.json") == b"{}"
    os.chmod(home / "server.json", 0o622)
    with pytest.raises(UnsafeServerFile, match="others may write"):
        files.read_state(home / "server.json")


def test_a_lock_is_never_truncated(home: Path) -> None:
    (home / ".lock").write_text("kept")
    os.chmod(home / ".lock", 0o600)
    os.close(files.open_lock(home / ".lock"))
    assert (home / ".lock").read_text() == "kept"


def test_a_linked_home_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "home").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafeServerFile):
        files.private_dir(tmp_path / "home", 0o700)


@as_root
def test_files_of_others_are_refused_and_a_log_tail_is_only_the_server_users(
    home: Path,
) -> None:
    nobody = pwd.getpwnam("nobody")
    files.write_state(home / "server.json", b"{}")
    os.chown(home / "server.json", nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(UnsafeServerFile, match="belongs to uid"):
        files.read_state(home / "server.json")
    log = home / "server.log"
    log.write_text("line 1\nline 2\n")
    assert files.read_tail(log, nobody.pw_uid) == ""  # root's file: not the server's log
    os.chown(log, nobody.pw_uid, nobody.pw_gid)
    assert files.read_tail(log, nobody.pw_uid) == "line 1\nline 2\n"
    log.unlink()
    log.symlink_to(home.parent / "victim")
    assert files.read_tail(log, nobody.pw_uid) == ""


@as_root
def test_chown_tree_follows_no_link_and_skips_hard_links(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("root's\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "file").write_text("x")
    (tree / "link").symlink_to(victim)
    (tree / "sub" / "dirlink").symlink_to(tmp_path)
    os.link(victim, tree / "hard")
    nobody = pwd.getpwnam("nobody")
    files.chown_tree(tree, nobody.pw_uid, nobody.pw_gid)
    assert (tree / "sub" / "file").stat().st_uid == nobody.pw_uid
    assert (tree / "sub").stat().st_uid == nobody.pw_uid
    assert os.lstat(tree / "link").st_uid == nobody.pw_uid
    assert victim.stat().st_uid == 0 and tmp_path.stat().st_uid == 0
