"""The signed identity token must never be readable by another session: not in
pg_stat_activity.query, not in the server log (issue 12, item 8)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text

from rlskit.session import act_as, act_as_sqlalchemy, sign_identity
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


def _seen_by_others(db: Database, pid: int) -> str:
    with db.connect(autocommit=True) as other:
        row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert row is not None
    return str(row[0])


def test_token_is_not_in_pg_stat_activity(app_db: Database) -> None:
    token = sign_identity(SECRET, {"user_id": 1})
    url = app_db.server.url(app_db.name, "app_login", "app-pw")
    with psycopg.connect(url) as conn, act_as(conn, "app_user", token=token):
        # idle in transaction: pg_stat_activity shows the last statement, the setup
        query = _seen_by_others(app_db, conn.info.backend_pid)
        assert "set_config" in query
        assert token.split(".")[1] not in query and token.split(".")[0] not in query


def test_token_is_not_in_pg_stat_activity_with_a_client_side_cursor(app_db: Database) -> None:
    token = sign_identity(SECRET, {"user_id": 1})
    url = app_db.server.url(app_db.name, "app_login", "app-pw")
    with (
        psycopg.connect(url, cursor_factory=psycopg.ClientCursor) as conn,
        act_as(conn, "app_user", token=token),
    ):
        query = _seen_by_others(app_db, conn.info.backend_pid)
        assert token.split(".")[1] not in query


def test_token_is_not_in_pg_stat_activity_with_sqlalchemy(app_db: Database) -> None:
    token = sign_identity(SECRET, {"user_id": 1})
    engine = create_engine(sqlalchemy_url(app_db.server.url(app_db.name, "app_login", "app-pw")))
    try:
        with engine.connect() as conn, act_as_sqlalchemy(conn, "app_user", token=token):
            pid = conn.connection.driver_connection.info.backend_pid
            query = _seen_by_others(app_db, pid)
            assert "set_config" in query and token.split(".")[1] not in query
            assert conn.execute(text("SELECT count(*) FROM app.documents")).scalar() == 2
    finally:
        engine.dispose()


def test_token_is_not_in_the_server_log_when_the_setup_fails(app_db: Database) -> None:
    token = sign_identity(SECRET, {"user_id": 1})
    logs = list(app_db.server.home.rglob("server.log"))
    assert logs, "the embedded server writes server.log"
    with (
        psycopg.connect(app_db.url) as conn,
        pytest.raises(psycopg.errors.InvalidParameterValue),
        act_as(conn, "no_such_role", token=token),
    ):
        pass
    text_ = "".join(p.read_text(errors="replace") for p in logs)
    assert "no_such_role" in text_  # the failure was logged...
    assert token.split(".")[1] not in text_  # ...without the token


def _expiring_token() -> tuple[str, float]:
    now = time.time()
    return sign_identity(SECRET, {"user_id": 1}, ttl=2, now=now), int(now + 2) + 0.3


def _titles(conn: psycopg.Connection) -> list[str]:  # type: ignore[type-arg]
    return sorted(r[0] for r in conn.execute("SELECT title FROM app.documents").fetchall())


def test_token_that_expires_inside_a_transaction_is_refused(app_db: Database) -> None:
    token, expired_at = _expiring_token()
    with psycopg.connect(app_db.url) as conn, act_as(conn, "app_user", token=token):
        assert _titles(conn) == ["d1", "d2"]
        time.sleep(max(0.0, expired_at - time.time()))
        assert _titles(conn) == []
