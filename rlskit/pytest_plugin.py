"""pytest plugin: a migrated database and "act as" for application test suites.

Installed with rlskit (entry point ``pytest11``). In a project's tests::

    def test_tenant_sees_own_rows(rlskit_act):
        with rlskit_act("app_user", {"app.tenant_id": "1"}) as conn:
            assert conn.execute("SELECT count(*) FROM app.customers").fetchone()[0] == 2

``rlskit_database`` is the URL of a database with every migration applied,
created once per session on rlskit's scratch server (or on the server in
``RLSKIT_TEST_SERVER_URL``); ``rlskit_connection`` is a psycopg connection to it
whose work is rolled back after each test. Configure the project folder with
the ini option ``rlskit_project`` (default: the rootdir).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("rlskit_project", "folder of the rlskit project (its alembic.ini)", default="")


@pytest.fixture(scope="session")
def rlskit_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a freshly migrated database, for the whole session."""
    from rlskit import commands
    from rlskit.project import Project
    from rlskit.scratch import scratch_database

    folder = request.config.getini("rlskit_project") or str(request.config.rootpath)
    project = Project.find(Path(folder))
    with scratch_database(project, os.environ.get("RLSKIT_TEST_SERVER_URL") or None) as url:
        commands.migrate_scratch(project, url, "heads")
        yield url


@pytest.fixture
def rlskit_connection(rlskit_database: str) -> Iterator[Any]:
    """A psycopg connection whose work is rolled back after the test."""
    import psycopg

    with psycopg.connect(rlskit_database) as conn, conn.transaction(force_rollback=True):
        yield conn


@pytest.fixture
def rlskit_act(rlskit_connection: Any) -> Callable[..., AbstractContextManager[Any]]:
    """``rlskit_act(role, settings, claims=None)``: a context manager acting as ``role``
    (``claims``: JWT-style, as ``request.jwt.claims`` and ``request.jwt.claim.*``). A
    statement that fails inside it (``pytest.raises``) rolls the block back; everything
    else is checked as in :func:`rlskit.session.act_as`."""
    from rlskit.session import act_as

    def act(
        role: str, settings: dict[str, Any] | None = None, claims: dict[str, Any] | None = None
    ) -> AbstractContextManager[Any]:
        return act_as(rlskit_connection, role, settings, claims=claims, rollback_caught_errors=True)

    return act
