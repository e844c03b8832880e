"""Concurrent deploys, lock timeouts with retries, and bad input."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from pathlib import Path

import psycopg
import pytest

from rlskit.project import Settings
from rlskit.runtime import advisory_key

from .conftest import (
    HEAD,
    REVISIONS,
    Database,
    alembic_process,
    rlskit,
    rlskit_process,
    write_revision,
)

SLOW_REVISION = (
    "CREATE TABLE IF NOT EXISTS deploy_log (rev text, pid int);\n"
    "SELECT pg_sleep(0.5);\n"
    "INSERT INTO deploy_log VALUES ('0100', pg_backend_pid());"
)


@pytest.mark.parametrize("tool", ["rlskit", "alembic"])
def test_concurrent_upgrades_apply_each_revision_once(
    project: Path, database: Database, tool: str
) -> None:
    write_revision(project, "0100", SLOW_REVISION, "DROP TABLE deploy_log;", message="slow")
    env = {"RLSKIT_DATABASE_URL": database.url}

    def run(_: int) -> tuple[int, str, str]:
        if tool == "rlskit":
            p = rlskit_process("upgrade", cwd=project, env=env)
        else:
            p = alembic_process("upgrade", "head", cwd=project, env=env)
        return p.returncode, p.stdout, p.stderr

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(4)))
    assert all(code == 0 for code, _, _ in results), results
    assert database.scalar("SELECT count(*) FROM deploy_log") == 1
    assert database.version() == ["0100"]
    if tool == "rlskit":
        outputs = [out for _, out, _ in results]
        assert sum(f"OK: upgrade ran {len(REVISIONS) + 1} revision(s)" in o for o in outputs) == 1
        assert sum("Nothing to do" in o for o in outputs) == 3


def test_waiting_for_another_upgrade_is_bounded(project: Path, database: Database) -> None:
    key = advisory_key(Settings())
    with database.connect(autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        started = time.monotonic()
        res = rlskit("upgrade", "--wait", "1s", project=project, url=database.url)
        waited = time.monotonic() - started
    assert res.exit_code == 4
    assert "Waited 1s for another upgrade" in res.stderr
    assert "pid" in res.stderr  # names who holds it
    assert 0.9 < waited < 10
    assert database.version() == []


def _reader_holds_lock(db: Database, seconds: float, ready: threading.Event) -> None:
    with db.connect() as conn:
        conn.execute("SELECT count(*) FROM app.customers")  # ACCESS SHARE until commit
        ready.set()
        time.sleep(seconds)
        conn.commit()


def test_lock_timeout_fails_fast_names_blocker_and_never_blocks_readers(
    project: Path, database: Database
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    before = database.snapshot()
    write_revision(
        project,
        "0100",
        "CREATE ROLE auditor NOLOGIN;\n"
        "CREATE POLICY customers_audit ON app.customers FOR SELECT TO auditor USING (true);",
        "DROP POLICY customers_audit ON app.customers; DROP ROLE auditor;",
        message="audit",
    )
    ready = threading.Event()
    reader = threading.Thread(target=_reader_holds_lock, args=(database, 6.0, ready))
    reader.start()
    ready.wait(10)

    # Readers that arrive while the migration waits must not queue behind it for long.
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with database.connect(autocommit=True) as conn:
            while not stop.is_set():
                t = time.monotonic()
                conn.execute("SELECT count(*) FROM app.customers")
                latencies.append(time.monotonic() - t)
                time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    started = time.monotonic()
    res = rlskit(
        "upgrade",
        "--lock-timeout",
        "300ms",
        "--lock-retries",
        "2",
        project=project,
        url=database.url,
    )
    elapsed = time.monotonic() - started
    stop.set()
    prober.join()
    reader.join()
    assert res.exit_code == 1
    err = res.stderr
    assert "canceling statement due to lock timeout" in err
    assert "sql/0100_audit.up.sql:2" in err
    assert "after 3 attempt(s)" in err
    assert "held by pid" in err and "AccessShareLock on app.customers" in err
    # 3 attempts of 0.3 s plus backoff 1 s + 2 s: well under the reader's 6 s.
    assert elapsed < 5.5
    assert max(latencies) < 0.3 + 0.5, max(latencies)
    assert database.snapshot().diff(before) == []
    assert database.version() == [HEAD]


def test_lock_timeout_retry_succeeds_when_reader_finishes(
    project: Path, database: Database
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    write_revision(
        project,
        "0100",
        "CREATE POLICY customers_read_all ON app.customers FOR SELECT TO app_admin USING (true);",
        "DROP POLICY customers_read_all ON app.customers;",
        message="retry",
    )
    ready = threading.Event()
    reader = threading.Thread(target=_reader_holds_lock, args=(database, 1.0, ready))
    reader.start()
    ready.wait(10)
    res = rlskit(
        "upgrade",
        "--lock-timeout",
        "200ms",
        "--lock-retries",
        "5",
        project=project,
        url=database.url,
    )
    reader.join()
    assert res.exit_code == 0, res.stderr
    assert "lock timeout at sql/0100_retry.up.sql:1; retrying" in res.stderr
    assert database.version() == ["0100"]


# -- bad input -------------------------------------------------------------------
def _no_traceback(res: object) -> None:
    text = res.output + res.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in text


def test_unreachable_server(project: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = rlskit("upgrade", project=project, url=f"postgresql://u:secretpw@127.0.0.1:{port}/x")
    assert res.exit_code == 3
    assert "Cannot connect to postgresql://u:***@127.0.0.1" in res.stderr
    assert "secretpw" not in res.output + res.stderr
    _no_traceback(res)


def test_wrong_password_is_never_printed(project: Path, database: Database) -> None:
    url = database.server.url(database.name, password="Wr0ng%40pass:word")
    res = rlskit("upgrade", project=project, url=url)
    assert res.exit_code == 3
    assert "rejected the user name or password" in res.stderr
    assert "Wr0ng" not in res.output + res.stderr
    _no_traceback(res)
    assert database.version() == []


def test_missing_sql_file(project: Path, database: Database) -> None:
    (project / "sql" / "0002_tenancy.up.sql").unlink()
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 2
    assert "Revision 0002 needs sql/0002_tenancy.up.sql, which does not exist" in res.stderr
    _no_traceback(res)
    assert database.version() == []
    assert database.scalar("SELECT count(*) FROM pg_roles WHERE rolname = 'app_login'") == 0


def test_unknown_target_revision(project: Path, database: Database) -> None:
    res = rlskit("upgrade", "nosuchrev", project=project, url=database.url)
    assert res.exit_code == 2
    assert "nosuchrev" in res.stderr and "rlskit history" in res.stderr
    _no_traceback(res)


def test_two_heads(project: Path, database: Database) -> None:
    write_revision(project, "0100", "SELECT 1;", "", down_revision="0002", message="branch")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 2
    assert "several heads" in res.stderr and "merge" in res.stderr
    _no_traceback(res)
    assert database.version() == []
    new = rlskit("new", "another", project=project)
    assert new.exit_code == 2 and "heads" in new.stderr


def test_not_a_project(tmp_path: Path) -> None:
    res = rlskit("upgrade", project=tmp_path)
    assert res.exit_code == 2
    assert "is not an rlskit project" in res.stderr and "rlskit init" in res.stderr
    _no_traceback(res)


def test_sql_syntax_error_names_file_and_line(project: Path, database: Database) -> None:
    write_revision(project, "0100", "SELECT 1;\nSELEC 2;\n", "", message="typo")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 1
    assert (
        "sql/0100_typo.up.sql:2" in res.stderr and 'syntax error at or near "SELEC"' in res.stderr
    )
    assert database.version() == []


def test_unterminated_quote_is_reported_before_connecting(project: Path) -> None:
    write_revision(project, "0100", "SELECT 'unterminated;\n", "", message="quote")
    res = rlskit("upgrade", "--sql", project=project)
    assert res.exit_code == 2
    assert "sql/0100_quote.up.sql" in res.stderr
    _no_traceback(res)


def test_psql_meta_command_rejected(project: Path) -> None:
    write_revision(project, "0100", "SELECT 1;\n\\set x 1\n", "", message="meta")
    res = rlskit("upgrade", "--sql", project=project)
    assert res.exit_code == 2
    assert "meta-commands" in res.stderr


def test_lock_holder_connection_is_reused_by_psycopg(database: Database) -> None:
    """The advisory key fits PostgreSQL's bigint and is stable across processes."""
    key = advisory_key(Settings())
    assert -(2**63) <= key < 2**63
    assert key == advisory_key(Settings())
    assert key != advisory_key(Settings(version_table="other"))
    with psycopg.connect(database.url, autocommit=True) as c:
        assert c.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0] is True
