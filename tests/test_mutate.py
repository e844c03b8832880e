"""rlskit test --coverage / --mutate / --format junit."""

from __future__ import annotations

import json
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psycopg
import pytest

from rlskit import mutate, review
from rlskit.commands import RunOptions, upgrade
from rlskit.project import Project

from .conftest import REPO, Server, fresh_database, rlskit, write_revision


@pytest.fixture
def rls_project(project: Path) -> Path:
    shutil.copytree(REPO / "tests" / "rls", project / "tests" / "rls")
    return project


@pytest.fixture(scope="module")
def reference_report(server: Server) -> tuple[mutate.MutationReport, object, object, float]:
    project = Project.find(REPO)
    suites = review.load_suites(project)
    with fresh_database(server) as db:
        upgrade(project, "heads", RunOptions(url=db.url))
        with psycopg.connect(db.url) as conn:
            before = db.snapshot()
            started = time.perf_counter()
            rep = mutate.mutate(conn, suites)
            seconds = time.perf_counter() - started
            after = db.snapshot()
    return rep, before, after, seconds


def test_mutation_leaves_the_database_as_it_was_and_is_fast(reference_report) -> None:  # type: ignore[no-untyped-def]
    rep, before, after, seconds = reference_report
    assert before == after
    assert not rep.baseline_failures
    assert seconds < 60, seconds


OPERATORS = (
    "USING → true",
    "USING → false",
    "WITH CHECK dropped",
    "command ",
    "TO + ",
    "permissive → restrictive",
    "REVOKE ",
    "GRANT ",
)


def test_every_operator_is_killed_by_some_reference_case(reference_report) -> None:  # type: ignore[no-untyped-def]
    rep = reference_report[0]
    for op in OPERATORS:
        made = [r for r in rep.results if r.mutant.operator.startswith(op)]
        assert made, op
        assert any(r.killed_by for r in made), op
    killed = {r.mutant.label: r.killed_by for r in rep.killed}
    assert killed["cms.articles policy articles_rbac_update: command UPDATE → SELECT"] == (
        "tests/rls/seed001_articles.yaml::EDITOR updates [mister_nobody_editor]"
    )


def test_killed_and_equivalent_mutants_agree_with_rlskit_test(  # type: ignore[no-untyped-def]
    reference_report, rls_project: Path, scratch_server: Server
) -> None:
    """Independent check: a mutant's SQL as a real revision fails `rlskit test` when
    the mutation run says a case kills it, and passes when it says equivalent."""
    rep = reference_report[0]
    killed = next(r for r in rep.killed if r.mutant.operator == "USING → true")
    equivalent = next(r for r in rep.results if r.equivalent)
    for result, fails in ((killed, True), (equivalent, False)):
        proj = rls_project.parent / f"copy_{int(fails)}"
        shutil.copytree(rls_project, proj)
        write_revision(proj, "0100", result.mutant.sql + ";\n")
        res = rlskit("test", project=proj, url=scratch_server.url("postgres"))
        assert (res.exit_code == 1) == fails, (result.mutant.label, res.output)


def test_reference_matrices_kill_every_mutant(reference_report) -> None:  # type: ignore[no-untyped-def]
    rep = reference_report[0]
    assert [r.mutant.label for r in rep.survived] == []
    assert rep.score == 1.0
    assert len(rep.killed) > 200


def test_a_missing_case_leaves_survivors_with_what_they_change(
    rls_project: Path, scratch_server: Server
) -> None:
    path = rls_project / "tests" / "rls" / "reference_app.yaml"
    text = path.read_text()
    case = (
        "- name: signed user 1 deletes only their documents\n"
        "  probe: DELETE FROM app.documents\n"
        "  expect:\n"
        "    signed_1: 2\n"
    )
    assert case in text
    path.write_text(text.replace(case, ""))
    res = rlskit("test", "--mutate", project=rls_project, url=scratch_server.url("postgres"))
    assert res.exit_code == 0, res.output
    assert "SURVIVED app.documents policy documents_owner_delete: USING → false" in res.output
    assert "changes reference_app:signed_1: DELETE on app.documents: 2 rows → 0 rows" in res.output
    assert "mutation score 98." in res.output


def test_cli_mutate_and_coverage(rls_project: Path, scratch_server: Server) -> None:
    res = rlskit(
        "test",
        "--mutate",
        "--format",
        "json",
        project=rls_project,
        url=scratch_server.url("postgres"),
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)["mutation"]
    assert 0 < data["score"] <= 1
    res = rlskit(
        "test",
        "--mutate",
        "--fail-under",
        "101",
        project=rls_project,
        url=scratch_server.url("postgres"),
    )
    assert res.exit_code == 1
    assert "mutation score" in res.output
    res = rlskit("test", "--coverage", project=rls_project, url=scratch_server.url("postgres"))
    assert res.exit_code == 0, res.output
    assert "ok app.notes notes_owner_update UPDATE TO app_user: admits and filters" in res.output
    assert (
        "-- shop.store store_catalog_all_select SELECT TO normal_account: only admits" in res.output
    )
    # admin holds no DELETE on organisations: a denied case does not exercise the policy
    assert (
        "-- app.organisations organisations_admin_all DELETE TO app_admin: not exercised"
        in res.output
    )


def test_junit(rls_project: Path, scratch_server: Server) -> None:
    path = rls_project / "tests" / "rls" / "seed002_sales.yaml"
    path.write_text(path.read_text().replace("salesperson_2: 2", "salesperson_2: 3"))
    res = rlskit(
        "test", "--format", "junit", project=rls_project, url=scratch_server.url("postgres")
    )
    assert res.exit_code == 1
    root = ET.fromstring(res.output)
    assert root.get("failures") == "1"
    failed = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["Crusher sees hers [salesperson_2]"]
    assert "expected 3 row(s), got 2 row(s)" in failed[0].find("failure").get("message")  # type: ignore[union-attr]
    assert int(root.get("tests", "0")) == sum(1 for _ in root.iter("testcase"))
