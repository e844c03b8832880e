"""The pytest plugin, used the way an application test suite uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import Server

APP_TEST = """
import psycopg
import pytest


def test_tenant_sees_own_rows(rlskit_connection, rlskit_act):
    rlskit_connection.execute(
        "INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'a'), (2, 'b');"
        "INSERT INTO app.customers (organisation_id, name) VALUES (1, 'x'), (1, 'y'), (2, 'z')")
    with rlskit_act("app_user", {"app.tenant_id": "1"}) as conn:
        assert conn.execute("SELECT count(*) FROM app.customers").fetchone()[0] == 2
        assert conn.execute("SELECT current_user").fetchone()[0] == "app_user"
    # outside the block the role and settings are gone
    assert rlskit_connection.execute("SELECT current_user").fetchone()[0] != "app_user"
    with rlskit_act("app_user", {"app.tenant_id": "2"}) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM app.customers")


def test_rolled_back_between_tests(rlskit_connection):
    assert rlskit_connection.execute("SELECT count(*) FROM app.customers").fetchone()[0] == 0
"""


def test_plugin_in_an_application_suite(project: Path, scratch_server: Server) -> None:
    tests = project / "app_tests"
    tests.mkdir()
    (tests / "test_app.py").write_text(APP_TEST)
    env = {**os.environ, "RLSKIT_TEST_SERVER_URL": scratch_server.url("postgres")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            f"rlskit_project={project}",
            "--rootdir",
            str(project),
            str(tests),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
