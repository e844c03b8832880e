"""rlskit explain: the verdict must be what PostgreSQL does when the statement runs."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rlskit import explain
from rlskit.access import Expect, load_suite
from rlskit.commands import RunOptions, upgrade
from rlskit.project import Project

from .conftest import REPO, Server, fresh_database, rlskit

FILES = sorted((REPO / "tests" / "rls").glob("*.yaml"))


def _state(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Every user table's rows (as text) and the temp tables: what explain must not change."""
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN "
        "('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' ORDER BY 1"
    ).fetchall()
    out: list[tuple[object, ...]] = []
    for (t,) in rows:
        out += conn.execute(
            f"SELECT {t!r}, array_agg(x::text ORDER BY x::text) FROM {t} AS x"
        ).fetchall()
    out += conn.execute("SELECT relname FROM pg_class WHERE relpersistence = 't'").fetchall()
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_verdicts_agree_with_running_every_reference_case(server: Server, path: Path) -> None:
    suite = load_suite(path, path.name)
    with fresh_database(server) as db:
        upgrade(Project.find(REPO), "heads", RunOptions(url=db.url))
        with psycopg.connect(db.url) as conn, conn.transaction(force_rollback=True):
            conn.execute(suite.fixtures)
            before = _state(conn)
            for case in suite.cases:
                for name, expected in case.expect.items():
                    actor = suite.actors[name]
                    settings = {k: str(v) for k, v in actor.settings.items()}
                    e = explain.explain(conn, actor.role, settings, case.probe, None, name)
                    assert e.agrees, (case.name, name, e.predicted, e.actual)
                    if isinstance(expected, int):
                        assert e.predicted == f"{expected} row(s)", (case.name, name)
                    elif isinstance(expected, str):
                        assert e.predicted == expected, (case.name, name)
                    else:
                        assert isinstance(expected, Expect)
            assert _state(conn) == before


def test_explain_cli_names_the_policy_and_values(project: Path, scratch_server: Server) -> None:
    import shutil

    shutil.copytree(REPO / "tests" / "rls", project / "tests" / "rls")
    res = rlskit(
        "explain",
        "user_2",
        "UPDATE app.notes SET owner_id = 1 WHERE owner_id = 2",
        project=project,
        url=scratch_server.url("postgres"),
    )
    assert res.exit_code == 0, res.output
    assert "id=3 (new row): REJECTED by WITH CHECK" in res.output
    assert "notes_owner_update WITH CHECK → false  [owner_id = 1," in res.output
    assert "5. Verdict: rls_violation" in res.output
    assert "PostgreSQL agrees" in res.output
    # --role with settings, one row, a filtered row.
    res = rlskit(
        "explain",
        "--role",
        "app_user",
        "--setting",
        "app.tenant_id=2",
        "--fixtures",
        str(project / "tests" / "rls" / "reference_app.yaml"),
        "--row",
        "id=1",
        "SELECT id, name FROM app.customers",
        project=project,
        url=scratch_server.url("postgres"),
    )
    assert res.exit_code == 0, res.output
    assert "id=1: FILTERED (silently)" in res.output
    assert "customers_tenant_isolation USING → false" in res.output
    assert "(2 row report(s) not picked by --row)" in res.output
    # --row only picks what to show: the verdict is still the whole statement's
    assert "5. Verdict: 1 row(s)" in res.output
    assert "PostgreSQL agrees" in res.output
    res = rlskit("explain", "nobody", "SELECT 1 FROM app.notes", project=project)
    assert res.exit_code == 2
    assert "No actor 'nobody'" in res.output


def test_too_many_rows_predicts_nothing(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain, "MAX_ROWS", 2)
    suite = load_suite(REPO / "tests" / "rls" / "reference_app.yaml", "reference_app.yaml")
    with fresh_database(server) as db:
        upgrade(Project.find(REPO), "heads", RunOptions(url=db.url))
        with psycopg.connect(db.url) as conn, conn.transaction(force_rollback=True):
            conn.execute(suite.fixtures)
            e = explain.explain(conn, "user:1", {}, "SELECT * FROM app.notes")
    assert e.predicted == explain.NOT_PREDICTED
    assert not e.agrees
    assert e.actual == "2 row(s)"
    assert "PostgreSQL agrees" not in explain.as_text(e)
