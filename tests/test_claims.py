"""JWT-style claims (PostgREST / Supabase): actors with ``claims`` on the Supabase
corpus examples, in rlskit test, explain, review, permissions and the pytest plugin."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from rlskit.session import act_as, claims_settings

from .conftest import REPO, Server, rlskit, write_revision

CORPUS = REPO.parent / "shared" / "corpus"
ALICE = "00000000-0000-0000-0000-00000000000a"
BOB = "00000000-0000-0000-0000-00000000000b"

MATRIX = f"""
fixtures: |
  INSERT INTO auth.users (id, email) VALUES ('{ALICE}', 'a@x'), ('{BOB}', 'b@x');
  INSERT INTO public.todos (id, user_id, task) VALUES
      (1, '{ALICE}', 'alice one'), (2, '{ALICE}', 'alice two'), (3, '{BOB}', 'bob one');
actors:
  alice:
    role: authenticated
    claims: {{sub: '{ALICE}', role: authenticated, email: a@x}}
  bob:
    role: authenticated
    claims: {{sub: '{BOB}', role: authenticated}}
  anon:
    role: anon
cases:
- name: alice sees her todos
  probe: SELECT id FROM public.todos
  expect:
    alice: {{ids: [1, 2]}}
    bob: {{ids: [3]}}
    anon: 0
- name: alice cannot add a todo for bob
  probe: INSERT INTO public.todos (user_id, task) VALUES ('{BOB}', 'evil')
  expect:
    alice: rls_violation
- name: alice cannot touch bob's todo
  probe: UPDATE public.todos SET task = 'mine now' WHERE id = 3
  expect:
    alice: 0
"""


@pytest.fixture
def supabase_project(tmp_path: Path) -> Path:
    if not (CORPUS / "01_supabase_todo_list.sql").is_file():
        pytest.skip(f"the corpus is not at {CORPUS}")
    proj = tmp_path / "supa"
    assert rlskit("init", str(proj)).exit_code == 0
    write_revision(
        proj,
        "0001",
        (CORPUS / "00_supabase_stub.sql").read_text()
        + "\n"
        + (CORPUS / "01_supabase_todo_list.sql").read_text(),
        down_revision=None,
        message="supabase todo list",
    )
    (proj / "tests" / "rls").mkdir(parents=True)
    (proj / "tests" / "rls" / "todos.yaml").write_text(MATRIX)
    return proj


def test_claims_become_postgrest_settings() -> None:
    s = claims_settings({"sub": "u1", "role": "authenticated", "admin": True, "org": {"id": 1}})
    assert json.loads(s["request.jwt.claims"]) == {
        "sub": "u1",
        "role": "authenticated",
        "admin": True,
        "org": {"id": 1},
    }
    assert s["request.jwt.claim.sub"] == "u1"
    assert s["request.jwt.claim.admin"] == "true"
    assert "request.jwt.claim.org" not in s


def test_access_matrix_with_claims_on_supabase_todos(
    supabase_project: Path, scratch_server: Server
) -> None:
    url = scratch_server.url("postgres")
    res = rlskit("test", project=supabase_project, url=url)
    assert res.exit_code == 0, res.output
    assert "5 passed, 0 failed" in res.output
    res = rlskit(
        "explain",
        "alice",
        "UPDATE public.todos SET task = 'mine now' WHERE id = 3",
        project=supabase_project,
        url=url,
    )
    assert res.exit_code == 0, res.output
    assert "id=3: FILTERED (silently)" in res.output
    assert f"auth.uid() = {ALICE}" in res.output
    assert "PostgreSQL agrees" in res.output
    res = rlskit("review", "--update", project=supabase_project, url=url)
    assert res.exit_code == 0, res.output
    lock = json.loads((supabase_project / "tests" / "rls" / "access.lock.json").read_text())
    assert lock["actors"]["todos:alice"]["claims"]["sub"] == ALICE
    assert lock["access"]["todos:alice"]["public.todos"]["SELECT"]["rows"] == 2
    assert lock["access"]["todos:anon"]["public.todos"]["SELECT"]["rows"] == 0


def test_permissions_and_act_as_with_claims(supabase_project: Path, server: Server) -> None:
    from .conftest import fresh_database

    with fresh_database(server) as db:
        assert rlskit("upgrade", project=supabase_project, url=db.url).exit_code == 0
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute(
                f"INSERT INTO auth.users (id) VALUES ('{ALICE}'), ('{BOB}');"
                f"INSERT INTO public.todos (user_id, task) VALUES ('{ALICE}', 'aaaa'), "
                f"('{BOB}', 'bbbb'), ('{BOB}', 'cccc')"
            )
            with act_as(conn, "authenticated", claims={"sub": BOB, "role": "authenticated"}):
                assert conn.execute("SELECT count(*) FROM public.todos").fetchone()[0] == 2
                assert conn.execute("SELECT auth.role()").fetchone()[0] == "authenticated"
            # Nothing survives the transaction.
            assert conn.execute("SELECT current_setting('request.jwt.claims', true)").fetchone()[
                0
            ] in (None, "")
        res = rlskit(
            "permissions",
            "authenticated",
            "--claim",
            f"sub={BOB}",
            "--count",
            "--schema",
            "public",
            "--format",
            "json",
            project=supabase_project,
            url=db.url,
        )
        assert res.exit_code == 0, res.output
        table = json.loads(res.output)["tables"][0]
        assert table["counts"]["SELECT"] == 2


PLUGIN_TEST = """
def test_claims(rlskit_connection, rlskit_act):
    with rlskit_act("app_user", claims={"sub": "u-1", "role": "authenticated"}) as conn:
        row = conn.execute(
            "SELECT current_setting('request.jwt.claim.sub'), "
            "current_setting('request.jwt.claims')::jsonb ->> 'role'"
        ).fetchone()
        assert row == ("u-1", "authenticated")
    assert rlskit_connection.execute(
        "SELECT current_setting('request.jwt.claims', true)"
    ).fetchone()[0] in (None, "")
"""


def test_pytest_plugin_act_with_claims(project: Path, scratch_server: Server) -> None:
    import os
    import subprocess
    import sys

    tests = project / "app_tests"
    tests.mkdir()
    (tests / "test_app.py").write_text(PLUGIN_TEST)
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
    assert "1 passed" in proc.stdout
