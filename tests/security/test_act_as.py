"""Attacks on act_as: autocommit, state left in pooled connections, transactions
ended inside the block, reserved names (issue 12, items 4-7)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool
from sqlalchemy import create_engine, text
from sqlalchemy.pool import QueuePool

from rlskit.errors import RlskitError, SpecError
from rlskit.session import act_as, act_as_sqlalchemy, reset_session, sign_identity
from rlskit.urls import sqlalchemy_url

from ..conftest import APP_DATA, Database, rlskit

SECRET = secrets.token_bytes(32)


@pytest.fixture
def app_db(project: Path, database: Database) -> Database:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute(APP_DATA)
        conn.execute("INSERT INTO auth.signing_keys (id, secret) VALUES (1, %s)", (SECRET,))
        conn.execute("ALTER ROLE app_login LOGIN PASSWORD 'app-pw'")
    return database


def app_url(db: Database) -> str:
    """The application's login role: a member of app_user and app_admin."""
    return db.server.url(db.name, user="app_login", password="app-pw")


@pytest.fixture
def pool(app_db: Database) -> Iterator[ConnectionPool]:
    """One connection, so the next borrower gets the connection the last one returned."""
    with ConnectionPool(app_url(app_db), min_size=1, max_size=1, open=True) as p:
        yield p


def state(conn: psycopg.Connection) -> tuple[object, ...]:  # type: ignore[type-arg]
    row = conn.execute(
        "SELECT current_user, session_user, current_setting('app.tenant_id', true), "
        "current_setting('rlskit.identity', true)"
    ).fetchone()
    assert row is not None
    conn.rollback()
    return (row[0], row[1], row[2] or "", row[3] or "")


CLEAN = ("app_login", "app_login", "", "")


# -- 4. autocommit ------------------------------------------------------------------------
def test_sqlalchemy_autocommit_engine_is_refused(app_db: Database) -> None:
    engine = create_engine(sqlalchemy_url(app_db.url), isolation_level="AUTOCOMMIT")
    try:
        with (
            engine.connect() as conn,
            pytest.raises(RlskitError, match="AUTOCOMMIT"),
            act_as_sqlalchemy(conn, "app_user", {"app.tenant_id": 1}),
        ):
            seen = conn.execute(text("SELECT count(*) FROM app.customers")).scalar()
            pytest.fail(f"the block ran, and saw {seen} of 3 rows as the login role")
    finally:
        engine.dispose()


def test_psycopg_autocommit_pool_applies_the_role(app_db: Database) -> None:
    with ConnectionPool(app_url(app_db), min_size=1, max_size=1, kwargs={"autocommit": True}) as p:
        with p.connection() as conn, act_as(conn, "app_user", {"app.tenant_id": 1}):
            assert conn.execute("SELECT count(*) FROM app.customers").fetchone() == (2,)
            assert conn.execute("SELECT current_user").fetchone() == ("app_user",)
        with p.connection() as conn:
            assert conn.autocommit is True
            assert state(conn) == CLEAN


# -- 5. session state must not leak into the pool -----------------------------------------
@pytest.mark.parametrize(
    "leak",
    [
        "SET ROLE app_admin",
        "SET app.tenant_id = '1'",
        "SELECT set_config('app.tenant_id', '1', false)",
        "SELECT set_config('rlskit.identity', current_setting('rlskit.identity'), false)",
        "SET ROLE app_user",
    ],
)
def test_session_level_changes_in_the_block_are_undone_and_reported(
    pool: ConnectionPool, leak: str
) -> None:
    token = sign_identity(SECRET, {"user_id": 1})
    with (
        pool.connection() as conn,
        pytest.raises(RlskitError, match=r"session|role is app_admin"),
        act_as(conn, "app_user", {"app.tenant_id": 1}, token=token),
    ):
        conn.execute(leak)
    with pool.connection() as conn:
        assert state(conn) == CLEAN
        # a token-less act_as must not inherit the previous user's identity
        with act_as(conn, "app_user"):
            assert conn.execute("SELECT title FROM app.documents").fetchall() == []


def test_session_authorization_in_the_block_is_refused(app_db: Database) -> None:
    with ConnectionPool(app_db.url, min_size=1, max_size=1) as p:
        with (
            p.connection() as conn,
            pytest.raises(RlskitError, match=r"session|role is app_admin"),
            act_as(conn, "app_user", {"app.tenant_id": 1}),
        ):
            conn.execute("SET SESSION AUTHORIZATION app_admin")
            conn.execute(
                "INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE VALUES (9, 'x')"
            )
        with p.connection() as conn:
            assert conn.execute("SELECT current_user, session_user").fetchone() == (
                "postgres",
                "postgres",
            )
    assert app_db.scalar("SELECT count(*) FROM app.organisations WHERE id = 9") == 0


def test_sqlalchemy_session_level_role_is_undone_and_reported(app_db: Database) -> None:
    engine = create_engine(
        sqlalchemy_url(app_url(app_db)), poolclass=QueuePool, pool_size=1, max_overflow=0
    )
    try:
        with (
            engine.connect() as conn,
            pytest.raises(RlskitError, match=r"session|role is app_admin"),
            act_as_sqlalchemy(conn, "app_user", {"app.tenant_id": 1}),
        ):
            conn.execute(text("SET ROLE app_admin"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user, session_user")).one() == (
                "app_login",
                "app_login",
            )
    finally:
        engine.dispose()


def test_reset_session_as_the_pool_reset_callback(app_db: Database) -> None:
    with ConnectionPool(app_url(app_db), min_size=1, max_size=1, reset=reset_session) as p:
        with p.connection() as conn:  # outside act_as: nothing checks this block
            conn.execute("SET ROLE app_admin")
            conn.execute("SET app.tenant_id = '2'")
            conn.execute("SELECT set_config('rlskit.identity', 'x', false)")
        with p.connection() as conn:
            assert state(conn) == CLEAN


# -- 6. the transaction ended inside the block ----------------------------------------------
def test_commit_inside_the_block_is_detected_and_later_writes_undone(
    app_db: Database,
) -> None:
    with psycopg.connect(app_db.url) as conn:
        with (
            pytest.raises(RlskitError, match="ended"),
            act_as(conn, "app_user", {"app.tenant_id": 1}),
        ):
            conn.commit()
            # the role and settings ended with the transaction: this runs as postgres
            conn.execute(
                "INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE VALUES (9, 'x')"
            )
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    assert app_db.scalar("SELECT count(*) FROM app.organisations WHERE id = 9") == 0


def test_sql_rollback_then_exception_leaves_nothing(app_db: Database) -> None:
    with (
        psycopg.connect(app_db.url) as conn,
        pytest.raises(RuntimeError),
        act_as(conn, "app_user", {"app.tenant_id": 1}),
    ):
        conn.execute("ROLLBACK")
        conn.execute(
            "INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE VALUES (9, 'x')"
        )
        raise RuntimeError("boom")
    assert app_db.scalar("SELECT count(*) FROM app.organisations WHERE id = 9") == 0


def test_sql_commit_inside_the_block_is_detected(app_db: Database) -> None:
    with psycopg.connect(app_db.url, autocommit=True) as conn:
        with pytest.raises(RlskitError, match="ended"), act_as(conn, "app_user"):
            conn.execute("COMMIT")
            conn.execute(
                "INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE VALUES (9, 'x')"
            )
        assert conn.autocommit is True
    assert app_db.scalar("SELECT count(*) FROM app.organisations WHERE id = 9") == 0


def test_caught_database_error_is_reported_not_silently_rolled_back(
    app_db: Database,
) -> None:
    with (
        psycopg.connect(app_db.url) as conn,
        pytest.raises(RlskitError, match="failed"),
        act_as(conn, "app_user", {"app.tenant_id": 1}),
    ):
        conn.execute("INSERT INTO app.customers (organisation_id, name) VALUES (1, 'w')")
        with contextlib.suppress(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 1/0")
    assert app_db.scalar("SELECT count(*) FROM app.customers WHERE name = 'w'") == 0


def test_nested_block_that_ends_the_outer_transaction_is_detected(app_db: Database) -> None:
    with psycopg.connect(app_db.url) as conn:
        conn.execute("SELECT 1")  # an outer transaction
        with pytest.raises(RlskitError), act_as(conn, "app_user", {"app.tenant_id": 1}):
            conn.execute("COMMIT")
            conn.execute(
                "INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE VALUES (9, 'x')"
            )
        conn.rollback()
    assert app_db.scalar("SELECT count(*) FROM app.organisations WHERE id = 9") == 0


def test_sqlalchemy_commit_inside_the_block_is_detected(app_db: Database) -> None:
    engine = create_engine(sqlalchemy_url(app_db.url))
    try:
        with engine.connect() as conn:
            with pytest.raises(RlskitError, match="ended"), act_as_sqlalchemy(conn, "app_user"):
                conn.commit()
            with pytest.raises(RlskitError, match="ended"), act_as_sqlalchemy(conn, "app_user"):
                conn.execute(text("COMMIT"))
                conn.execute(
                    text(
                        "INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE VALUES (9, 'x')"
                    )
                )
    finally:
        engine.dispose()
    assert app_db.scalar("SELECT count(*) FROM app.organisations WHERE id = 9") == 0


# -- 7. reserved names ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "settings"),
    [
        ("none", {}),
        ("NONE", {}),
        ("app_user", {"role": "app_admin"}),
        ("app_user", {"ROLE": "app_admin"}),
        ("app_user", {"Session_Authorization": "app_admin"}),
        (None, {"role": "app_admin"}),
    ],
)
def test_reserved_names_are_refused(
    pool: ConnectionPool, role: str | None, settings: dict[str, str]
) -> None:
    with pool.connection() as conn:
        with pytest.raises(SpecError, match="reserved"), act_as(conn, role, settings):
            pytest.fail(f"the block ran as {conn.execute('SELECT current_user').fetchone()}")
        assert state(conn) == CLEAN


def test_reserved_names_are_refused_by_sqlalchemy(app_db: Database) -> None:
    engine = create_engine(sqlalchemy_url(app_url(app_db)))
    try:
        with engine.connect() as conn:
            for role, settings in (("none", {}), ("app_user", {"role": "app_admin"})):
                with (
                    pytest.raises(SpecError, match="reserved"),
                    act_as_sqlalchemy(conn, role, settings),
                ):
                    pytest.fail("the block ran")
    finally:
        engine.dispose()


def test_reset_session_as_a_sqlalchemy_reset_listener(app_db: Database) -> None:
    from sqlalchemy import event

    engine = create_engine(
        sqlalchemy_url(app_url(app_db)), poolclass=QueuePool, pool_size=1, max_overflow=0
    )
    event.listen(engine, "reset", lambda c, *a: reset_session(c))
    try:
        with engine.connect() as conn:
            conn.execute(text("SET ROLE app_admin"))
            conn.execute(text("SET app.tenant_id = '2'"))
            conn.commit()
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT current_user, session_user, current_setting('app.tenant_id', true)")
            ).one()
            assert (row[0], row[1], row[2] or "") == ("app_login", "app_login", "")
    finally:
        engine.dispose()


def test_a_lost_connection_raises_the_real_error(app_db: Database) -> None:
    with psycopg.connect(app_url(app_db)) as conn:
        pid = conn.info.backend_pid
        with pytest.raises(psycopg.OperationalError), act_as(conn, "app_user"):
            with app_db.connect(autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            conn.execute("SELECT 1")
