"""Acting as a user from Python: per transaction, nothing left behind in pools,
and an identity a client running SQL as the app role cannot forge."""

from __future__ import annotations

import random
import secrets
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool
from sqlalchemy import create_engine, text
from sqlalchemy.pool import QueuePool

from rlskit.errors import SpecError
from rlskit.session import Settings, act_as, act_as_sqlalchemy, sign_identity
from rlskit.urls import sqlalchemy_url

from .conftest import APP_DATA, Database, rlskit

SECRET = secrets.token_bytes(32)


@pytest.fixture
def app_db(project: Path, database: Database) -> Database:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute(APP_DATA)
        conn.execute("INSERT INTO auth.signing_keys (id, secret) VALUES (1, %s)", (SECRET,))
        # the application's login role: may become app_user, nothing else by itself
        conn.execute("ALTER ROLE app_login LOGIN PASSWORD 'app-pw'")
    return database


def app_url(db: Database) -> str:
    return db.server.url(db.name, user="app_login", password="app-pw")


def titles(conn: psycopg.Connection) -> list[str]:  # type: ignore[type-arg]
    return sorted(r[0] for r in conn.execute("SELECT title FROM app.documents").fetchall())


# -- unforgeable identity -----------------------------------------------------------
def test_signed_token_grants_exactly_its_claims(app_db: Database) -> None:
    with psycopg.connect(app_url(app_db)) as conn:
        with act_as(conn, "app_user", token=sign_identity(SECRET, {"user_id": 1})):
            assert titles(conn) == ["d1", "d2"]
        with act_as(conn, "app_user", token=sign_identity(SECRET, {"user_id": 2})):
            assert titles(conn) == ["d3"]
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
            act_as(conn, "app_user", token=sign_identity(SECRET, {"user_id": 2})),
        ):
            conn.execute("INSERT INTO app.documents (owner_id, title) VALUES (1, 'x')")


@pytest.mark.parametrize(
    "attack",
    [
        "no token, set the id setting directly",
        "tampered claims, old signature",
        "signed with another secret",
        "expired token",
        "garbage token",
        "role of another user",
        "read the signing key",
        "call the verifier directly",
    ],
)
def test_forging_identity_fails(app_db: Database, attack: str) -> None:
    good = sign_identity(SECRET, {"user_id": 1})
    with psycopg.connect(app_url(app_db)) as conn, conn.transaction():
        conn.execute("SET LOCAL ROLE app_user")
        if attack == "no token, set the id setting directly":
            conn.execute("SELECT set_config('app.user_id', '2', true)")
            assert titles(conn) == []
        elif attack == "tampered claims, old signature":
            _body, sig = good.split(".")
            other_body = sign_identity(SECRET, {"user_id": 2}).split(".")[0]
            conn.execute("SELECT set_config('rlskit.identity', %s, true)", (f"{other_body}.{sig}",))
            assert titles(conn) == []
        elif attack == "signed with another secret":
            forged = sign_identity(secrets.token_bytes(32), {"user_id": 2})
            conn.execute("SELECT set_config('rlskit.identity', %s, true)", (forged,))
            assert titles(conn) == []
        elif attack == "expired token":
            old = sign_identity(SECRET, {"user_id": 1}, ttl=60, now=0)
            conn.execute("SELECT set_config('rlskit.identity', %s, true)", (old,))
            assert titles(conn) == []
        elif attack == "garbage token":
            conn.execute("SELECT set_config('rlskit.identity', %s, true)", ("x.y'; --",))
            assert titles(conn) == []
        elif attack == "role of another user":
            # app_login may become user:2 (it is a member), but the documents follow the
            # signed claim, not the role.
            conn.execute("RESET ROLE")
            conn.execute('SET LOCAL ROLE "user:2"')
            conn.execute("SELECT set_config('rlskit.identity', %s, true)", (good,))
            assert titles(conn) == ["d1", "d2"]
        elif attack == "read the signing key":
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT secret FROM auth.signing_keys")
        elif attack == "call the verifier directly":
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT auth.check_token('x')")


def test_role_names_are_quoted_and_settings_bound(app_db: Database) -> None:
    with psycopg.connect(app_db.url) as conn:
        with (
            pytest.raises(psycopg.errors.InvalidParameterValue),
            act_as(conn, 'app_user"; DROP TABLE app.documents; --'),
        ):
            pass
        with act_as(conn, "app_user", {"app.tenant_id": "1'; DROP TABLE app.customers; --"}):
            assert (
                conn.execute("SELECT current_setting('app.tenant_id')").fetchone()[0]
                == "1'; DROP TABLE app.customers; --"
            )
    assert app_db.scalar("SELECT count(*) FROM app.documents") == 3


def test_declared_settings() -> None:
    s = Settings()
    s.declare("app.tenant_id", int, required=True)
    assert s.check({"app.tenant_id": 3}) == {"app.tenant_id": "3"}
    with pytest.raises(SpecError, match="not declared"):
        s.check({"app.tenant_id": 3, "app.tenantid": 4})
    with pytest.raises(SpecError, match="required"):
        s.check({})
    with pytest.raises(SpecError, match="must be int"):
        s.check({"app.tenant_id": "3"})


# -- pools under concurrency ----------------------------------------------------------
def _worker(borrow, errors: list[str], rounds: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    for _i in range(rounds):
        tenant = str(rng.choice([1, 2]))
        fail = rng.random() < 0.2
        try:
            with borrow() as conn:
                state = conn.execute(
                    "SELECT current_user, session_user, current_setting('app.tenant_id', true)"
                ).fetchone()
                if state[0] != state[1] or state[2] not in (None, ""):
                    errors.append(f"leftover from an earlier request: {state}")
                try:
                    with act_as(conn, "app_user", {"app.tenant_id": tenant}):
                        who, t = conn.execute(
                            "SELECT current_user, current_setting('app.tenant_id')"
                        ).fetchone()
                        n = conn.execute("SELECT count(*) FROM app.customers").fetchone()[0]
                        if who != "app_user" or t != tenant or n != (2 if tenant == "1" else 1):
                            errors.append(f"saw {who} {t} {n} instead of tenant {tenant}")
                        if fail:
                            raise RuntimeError("boom")
                except RuntimeError:
                    pass
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")


def test_psycopg_pool_never_leaks_role_or_settings(app_db: Database) -> None:
    errors: list[str] = []
    with ConnectionPool(app_db.url, min_size=2, max_size=2, open=True) as pool:
        threads = [
            threading.Thread(target=_worker, args=(pool.connection, errors, 40, i))
            for i in range(12)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_sqlalchemy_pool_never_leaks_role_or_settings(app_db: Database) -> None:
    engine = create_engine(
        sqlalchemy_url(app_db.url), poolclass=QueuePool, pool_size=2, max_overflow=0
    )
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            tenant = rng.choice([1, 2])
            try:
                with engine.connect() as conn:
                    state = conn.execute(
                        text(
                            "SELECT current_user = session_user, "
                            "current_setting('app.tenant_id', true)"
                        )
                    ).one()
                    if not state[0] or state[1] not in (None, ""):
                        errors.append(f"leftover: {state}")
                    try:
                        with act_as_sqlalchemy(conn, "app_user", {"app.tenant_id": tenant}):
                            n = conn.execute(text("SELECT count(*) FROM app.customers")).scalar()
                            if n != (2 if tenant == 1 else 1):
                                errors.append(f"tenant {tenant} saw {n}")
                            if rng.random() < 0.2:
                                raise RuntimeError("boom")
                    except RuntimeError:
                        pass
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert errors == []


def test_act_as_commits_on_success_and_rolls_back_on_error(app_db: Database) -> None:
    token = sign_identity(SECRET, {"user_id": 1})
    with psycopg.connect(app_db.url) as conn:
        assert conn.autocommit is False
        with act_as(conn, "app_user", token=token):
            conn.execute("INSERT INTO app.documents (owner_id, title) VALUES (1, 'kept')")
        with pytest.raises(RuntimeError), act_as(conn, "app_user", token=token):
            conn.execute("INSERT INTO app.documents (owner_id, title) VALUES (1, 'dropped')")
            raise RuntimeError("boom")
        assert conn.autocommit is False
        assert conn.execute("SELECT current_user = session_user").fetchone()[0] is True
        conn.rollback()
    titles_now = app_db.scalar("SELECT string_agg(title, ',' ORDER BY id) FROM app.documents")
    assert titles_now == "d1,d2,d3,kept"
