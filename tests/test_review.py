"""rlskit review: the access matrix of two builds, and the lock file."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from rlskit import review
from rlskit.access import load_suite
from rlskit.commands import RunOptions, upgrade
from rlskit.project import Project

from .conftest import REPO, Server, fresh_database, rlskit, write_revision

NOTES_POLICY = (
    "CREATE POLICY notes_owner_select ON app.notes FOR SELECT TO app_user\n"
    "    USING (owner_id = (SELECT app.current_user_id()));"
)


@pytest.fixture
def rls_project(project: Path) -> Path:
    shutil.copytree(REPO / "tests" / "rls", project / "tests" / "rls")
    (project / "tests" / "rls" / review.LOCK_NAME).unlink(missing_ok=True)
    return project


def _review(project: Path, scratch: Server, *args: str):  # type: ignore[no-untyped-def]
    return rlskit("review", *args, project=project, url=scratch.url("postgres"))


def _edit_0003(project: Path, new: str) -> None:
    """Replace the notes SELECT policy of the repository's 0003 with ``new``."""
    text = (REPO / "sql" / "0003_user_roles.up.sql").read_text()
    assert NOTES_POLICY in text
    (project / "sql" / "0003_user_roles.up.sql").write_text(text.replace(NOTES_POLICY, new))


def test_check_without_lock_fails_and_update_writes_it(
    rls_project: Path, scratch_server: Server
) -> None:
    res = _review(rls_project, scratch_server, "--check")
    assert res.exit_code == 1
    assert "does not exist" in res.output
    res = _review(rls_project, scratch_server, "--update")
    assert res.exit_code == 0, res.output
    lock = rls_project / "tests" / "rls" / review.LOCK_NAME
    data = json.loads(lock.read_text())
    cell = data["access"]["reference_app:user_1"]["app.notes"]["SELECT"]
    assert cell == {"columns": ["*"], "policies": ["notes_owner_select"], "rows": 2}
    # Sorted and stable: writing again changes nothing.
    before = lock.read_text()
    res = _review(rls_project, scratch_server, "--update")
    assert "is up to date" in res.output
    assert lock.read_text() == before
    res = _review(rls_project, scratch_server, "--check")
    assert res.exit_code == 0, res.output


def test_broken_fixtures_write_no_lock(rls_project: Path, scratch_server: Server) -> None:
    path = rls_project / "tests" / "rls" / "seed002_sales.yaml"
    path.write_text(path.read_text().replace("sales.salespeople", "sales.nosuchtable", 1))
    res = _review(rls_project, scratch_server, "--update")
    assert res.exit_code == 2, res.output
    assert "seed002_sales.yaml: the fixtures failed" in res.output
    assert not (rls_project / "tests" / "rls" / review.LOCK_NAME).exists()


def test_lock_ignores_whitespace_and_comments_in_sql(
    rls_project: Path, scratch_server: Server
) -> None:
    assert _review(rls_project, scratch_server, "--update").exit_code == 0
    _edit_0003(
        rls_project,
        "-- owners read their own notes\n"
        "CREATE   POLICY notes_owner_select\n  ON app.notes\n  FOR SELECT\n  TO app_user\n"
        "  USING ( owner_id = ( SELECT app.current_user_id() ) );  /* same rule */",
    )
    res = _review(rls_project, scratch_server, "--check")
    assert res.exit_code == 0, res.output
    assert "no access changes" in res.output


def test_lock_changes_when_a_policy_changes(rls_project: Path, scratch_server: Server) -> None:
    assert _review(rls_project, scratch_server, "--update").exit_code == 0
    _edit_0003(
        rls_project,
        "CREATE POLICY notes_owner_select ON app.notes FOR SELECT TO app_user\n"
        "    USING (owner_id = (SELECT app.current_user_id()) OR body = 'n3');",
    )
    res = _review(rls_project, scratch_server, "--check")
    assert res.exit_code == 1, res.output
    assert "reference_app:user_1: SELECT on app.notes: 2 rows → 3 rows" in res.output
    assert "policy notes_owner_select changed" in res.output
    assert "access.lock.json" in res.output
    # A change the fixtures cannot see still changes the lock (the policy text).
    _edit_0003(
        rls_project,
        "CREATE POLICY notes_owner_select ON app.notes FOR SELECT TO app_user\n"
        "    USING (owner_id = (SELECT app.current_user_id()) OR body = 'nowhere');",
    )
    res = _review(rls_project, scratch_server, "--check", "--format", "markdown")
    assert res.exit_code == 1, res.output
    assert "| ✏️ | `app.notes` | policy notes_owner_select changed" in res.output


def test_review_against_a_git_ref_is_fast(rls_project: Path, scratch_server: Server) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=rls_project,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    # app_user gains SELECT on a table it could not read (no RLS there), and a
    # tenant loses rows.
    write_revision(
        rls_project,
        "0100",
        "GRANT USAGE ON SCHEMA django TO app_user;\n"
        "GRANT SELECT ON django.auth_user TO app_user;\n"
        "ALTER POLICY customers_tenant_isolation ON app.customers USING (false);\n"
        "GRANT EXECUTE ON FUNCTION auth.check_token(text) TO app_user;\n",
    )
    started = time.perf_counter()
    res = _review(rls_project, scratch_server, "--git", "HEAD", "--format", "json")
    seconds = time.perf_counter() - started
    assert res.exit_code == 0, res.output
    changes = json.loads(res.output)["changes"]
    texts = {(c["subject"], c["text"]) for c in changes}
    assert ("reference_app:app_user_1", "gains SELECT on django.auth_user (0 → 0 rows)") in texts
    assert ("reference_app:app_user_1", "UPDATE on app.customers: 2 rows → 0 rows") in texts
    assert ("app_user", "gains EXECUTE on auth.check_token(text) SECURITY DEFINER") in texts
    assert seconds < 10, seconds
    res = _review(rls_project, scratch_server, "--git", "no-such-ref")
    assert res.exit_code == 2
    assert "no-such-ref" in res.output


def test_two_revisions(rls_project: Path, scratch_server: Server) -> None:
    write_revision(
        rls_project, "0100", "ALTER POLICY notes_owner_select ON app.notes USING (true);\n"
    )
    res = _review(rls_project, scratch_server, "--from", "0008", "--to", "0100")
    assert res.exit_code == 0, res.output
    assert "reference_app:user_1: SELECT on app.notes: 2 rows → 3 rows" in res.output
    assert "policy notes_owner_select changed" in res.output


def test_counts_agree_with_running_the_statements(server: Server) -> None:
    """Independent oracle: UPDATE and DELETE as the actor (rolled back) affect as many
    rows as the matrix says, on every reference file."""
    project = Project.find(REPO)
    with fresh_database(server) as db:
        upgrade(project, "heads", RunOptions(url=db.url))
        before = db.snapshot()
        checked = 0
        with psycopg.connect(db.url) as conn:
            for path in sorted((REPO / "tests" / "rls").glob("*.yaml")):
                suite = load_suite(path, path.name)
                matrix = review.compute(conn, [(suite, path.name)]).data
                with conn.transaction(force_rollback=True):
                    conn.execute(suite.fixtures)
                    for name, actor in suite.actors.items():
                        cells = matrix["access"][review.actor_key(path.name, name)]
                        for table, entry in cells.items():
                            for command in ("UPDATE", "DELETE"):
                                want = entry.get(command, {}).get("rows")
                                if not isinstance(want, int):
                                    continue
                                assert _run_as(conn, actor, table, command) == want, (
                                    name,
                                    table,
                                    command,
                                )
                                checked += 1
        assert checked > 20
        # No side effects: the catalog is as before and the fixtures' rows are gone.
        assert db.snapshot() == before
        assert db.scalar("SELECT count(*) FROM app.customers") == 0
        assert db.scalar("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'user:%%'") == 0


def _run_as(conn: psycopg.Connection[tuple[object, ...]], actor, table: str, command: str) -> int:  # type: ignore[no-untyped-def]
    from rlskit.session import setup_statement

    schema, name = table.split(".")
    t = sql.Identifier(schema, name)
    col = conn.execute(
        "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 "
        "AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity <> 'a' "
        "AND has_column_privilege(%s, a.attrelid, a.attnum, 'SELECT') "
        "AND (%s = 'DELETE' OR has_column_privilege(%s, a.attrelid, a.attnum, 'UPDATE')) "
        "ORDER BY a.attnum LIMIT 1",
        (table, actor.role, command, actor.role),
    ).fetchone()
    assert col is not None
    c = sql.Identifier(col[0])
    where = sql.SQL("{} IS NOT DISTINCT FROM {}").format(c, c)
    stmt = (
        sql.SQL("UPDATE {} SET {} = {} WHERE ").format(t, c, c) + where
        if command == "UPDATE"
        else sql.SQL("DELETE FROM {} WHERE ").format(t) + where
    )
    with conn.transaction(force_rollback=True):
        conn.execute(*setup_statement(actor.role, {k: str(v) for k, v in actor.settings.items()}))
        try:
            return conn.execute(stmt).rowcount
        except psycopg.errors.ForeignKeyViolation:
            return -1


def test_execute_and_privileges_need_usage_on_the_schema(
    rls_project: Path, scratch_server: Server, database: object
) -> None:
    """A role with EXECUTE (through PUBLIC) on a function in a schema it has no USAGE
    on cannot call it: the lock does not list it until USAGE is granted. Oracle: calling
    the function as the role."""
    from .conftest import Database

    assert isinstance(database, Database)
    assert upgrade(Project.find(rls_project), "head", RunOptions(url=database.url)).revisions
    with database.connect() as conn:
        conn.execute("SET ROLE django")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema app"):
            conn.execute("SELECT app.current_user_id()")
    assert _review(rls_project, scratch_server, "--update").exit_code == 0
    lock = json.loads((rls_project / "tests" / "rls" / review.LOCK_NAME).read_text())
    assert "app.current_user_id()" not in lock["execute"]["django"]
    write_revision(rls_project, "0100", "GRANT USAGE ON SCHEMA app TO django;\n")
    res = _review(rls_project, scratch_server, "--check")
    assert res.exit_code == 1, res.output
    assert "django: gains EXECUTE on app.current_user_id()" in res.output
