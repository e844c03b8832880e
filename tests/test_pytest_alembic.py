"""Alembic's own test tools on the reference project (issue 11 case 10).

pytest-alembic hands env.py an Engine in ``config.attributes["connection"]``;
its built-in tests run here against the test server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_alembic.tests import (
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from rlskit.urls import sqlalchemy_url

from .conftest import HEAD, REPO, Database

__all__ = ["test_single_head_revision", "test_up_down_consistency", "test_upgrade"]


@pytest.fixture
def alembic_config() -> dict[str, Any]:
    return {"file": str(REPO / "alembic.ini")}


@pytest.fixture
def alembic_engine(database: Database) -> Iterator[Engine]:
    engine = create_engine(sqlalchemy_url(database.url), poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.skip(
    reason="an rlskit project has no SQLAlchemy models (target_metadata is None): its schema "
    "is the SQL files, so there is nothing for autogenerate to compare; `rlskit drift` "
    "compares the live catalog with the migrations instead"
)
def test_model_definitions_match_ddl() -> None:
    """pytest-alembic's fourth built-in test does not apply to a SQL-only project."""


def test_engine_in_config_attributes(alembic_engine: Engine, database: Database) -> None:
    """The Alembic cookbook's pattern with an Engine instead of a Connection."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(REPO / "alembic.ini"))
    cfg.attributes["connection"] = alembic_engine
    command.upgrade(cfg, "head")
    assert database.version() == [HEAD]
    command.downgrade(cfg, "base")
    assert database.version() == []
