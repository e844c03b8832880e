"""A revision message (``rlskit new``, plain ``alembic revision -m``/``merge -m``) is
written into a Python docstring and into SQL comments: it must stay text in both."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import Database, alembic_process, rlskit

PAYLOAD = 'x"""; import pathlib; pathlib.Path(MARK).write_text("pwned"); """\\'


def _load(module: Path) -> object:
    spec = importlib.util.spec_from_file_location("rev_under_test", module)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("how", ["rlskit", "alembic"])
def test_message_cannot_become_python_in_the_revision_module(tmp_path: Path, how: str) -> None:
    proj = tmp_path / "p"
    assert rlskit("init", str(proj)).exit_code == 0
    mark = tmp_path / "pwned"
    message = PAYLOAD.replace("MARK", repr(str(mark)))
    if how == "rlskit":
        assert rlskit("new", message, project=proj).exit_code == 0
    else:
        r = alembic_process("revision", "-m", message, cwd=proj)
        assert r.returncode == 0, r.stderr
    (module,) = (proj / "migrations" / "versions").glob("*.py")
    mod = _load(module)
    assert not mark.exists(), "the message ran as Python"
    assert message in (mod.__doc__ or "")


def test_plain_alembic_message_stays_in_the_sql_comment(tmp_path: Path, database: Database) -> None:
    proj = tmp_path / "p"
    assert rlskit("init", str(proj)).exit_code == 0
    r = alembic_process("revision", "-m", "tidy\nCREATE TABLE public.planted (id int);--", cwd=proj)
    assert r.returncode == 0, r.stderr
    assert rlskit("upgrade", project=proj, url=database.url).exit_code == 0
    assert database.scalar("SELECT to_regclass('public.planted') IS NULL") is True
