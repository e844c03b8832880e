"""The runnable examples: each seed project lints clean and passes its access
matrix; the middleware demo serves each user their own rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, Database, Server, rlskit

EXAMPLES = sorted(p for p in (REPO / "examples").iterdir() if (p / "alembic.ini").exists())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_project(example: Path, scratch_server: Server) -> None:
    lint = rlskit("lint", "--no-db", project=example)
    assert lint.exit_code == 0 and "No findings." in lint.output, lint.output
    res = rlskit("test", project=example, url=scratch_server.url("postgres"))
    assert res.exit_code == 0, res.output
    assert " passed, 0 failed" in res.output
    assert rlskit("render", "--check", project=example).exit_code == 0


def test_middleware_demo(project: Path, database: Database) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    demo = REPO / "examples" / "middleware" / "demo.py"
    proc = subprocess.run(
        [sys.executable, str(demo), database.url],
        capture_output=True,
        text=True,
        cwd=demo.parent,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "user 901: ['plan of user 901']",
        "user 902: ['diary of user 902']",
        "user anonymous: (nothing)",
    ]
