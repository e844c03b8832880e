"""rlskit test: access matrices in YAML, run on a freshly migrated database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project

from .conftest import REPO, Server, rlskit, write_revision


def _run(project: Path, scratch: Server, *args: str):  # type: ignore[no-untyped-def]
    return rlskit("test", *args, project=project, url=scratch.url("postgres"))


@pytest.fixture
def rls_project(project: Path) -> Path:
    shutil.copytree(REPO / "tests" / "rls", project / "tests" / "rls")
    return project


def test_reference_access_matrices_pass(rls_project: Path, scratch_server: Server) -> None:
    res = _run(rls_project, scratch_server)
    assert res.exit_code == 0, res.output
    assert res.output.strip().splitlines()[-1].startswith("153 passed, 0 failed")


# Each article's mistake, reintroduced as a later revision, fails the matrix.
MISTAKES = [
    (
        "seed 001: UPDATE policy declared FOR SELECT",
        "DROP POLICY articles_rbac_update ON cms.articles;\n"
        "CREATE POLICY articles_rbac_update ON cms.articles FOR SELECT TO mister_nobody "
        "USING ((SELECT cms.articles_has_permission('edit_articles')));",
        "seed001_articles.yaml::EDITOR updates [mister_nobody_editor] expected 3 row(s), got 0",
    ),
    (
        "seed 001: the published-only rule for USER dropped",
        "DROP POLICY articles_rbac_select ON cms.articles;\n"
        "CREATE POLICY articles_rbac_select ON cms.articles FOR SELECT TO mister_nobody "
        "USING (current_setting('myapp.role', true) = 'EDITOR');",
        "USER reads published [mister_nobody_user] expected 1 row(s), got 0 row(s)",
    ),
    (
        "seed 002: RLS never enabled",
        "ALTER TABLE sales.clients NO FORCE ROW LEVEL SECURITY;\n"
        "ALTER TABLE sales.clients DISABLE ROW LEVEL SECURITY;",
        "Picard sees his client [salesperson_1] expected 1 row(s), got 3",
    ),
    (
        "seed 003: UPDATE policy without USING",
        "DROP POLICY store_owner_update ON shop.store;\n"
        "CREATE POLICY store_owner_update ON shop.store FOR UPDATE TO store_owner "
        "WITH CHECK (owner_id = (SELECT nullif(current_setting('auth.current_account_id', true), "
        "'')::integer));",
        "owner renames own store [store_owner_1] expected 1 row(s), got 0",
    ),
    (
        "seed 000: USING (is_superuser) names the column",
        "DROP POLICY auth_user_superuser ON django.auth_user;\n"
        "CREATE POLICY auth_user_superuser ON django.auth_user FOR SELECT TO django_users "
        "USING (is_superuser);",
        "own row [django_1] expected 1 row(s), got 2",
    ),
    (
        "seed 004: tenant filter dropped to a plain setting compare",
        "DROP POLICY customers_tenant_select ON crm.customers;\n"
        "CREATE POLICY customers_tenant_select ON crm.customers FOR SELECT TO application "
        "USING (true);",
        "user 10 sees two tenants [application_10] expected 2 row(s), got 3",
    ),
]


@pytest.mark.parametrize(("label", "sql", "failure"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_reintroduced_mistakes_are_caught(
    rls_project: Path, scratch_server: Server, label: str, sql: str, failure: str
) -> None:
    write_revision(rls_project, "0100", sql, "", message="mistake")
    res = _run(rls_project, scratch_server)
    assert res.exit_code == 1
    assert failure in res.output, res.output


def test_actors_rls_would_not_apply_to_are_refused(project: Path, scratch_server: Server) -> None:
    (project / "tests" / "rls").mkdir(parents=True)
    (project / "tests" / "rls" / "bad.yaml").write_text(
        "actors:\n  boss: {role: postgres}\n  owner: {role: app_login}\n"
        "cases:\n  - probe: SELECT 1 FROM app.customers\n    expect: {boss: 0}\n"
    )
    res = _run(project, scratch_server)
    assert res.exit_code == 1
    assert "REFUSED" in res.output and "superuser" in res.output


def test_json_output_and_unknown_actor(rls_project: Path, scratch_server: Server) -> None:
    res = _run(
        rls_project,
        scratch_server,
        "--format",
        "json",
        str(rls_project / "tests" / "rls" / "seed002_sales.yaml"),
    )
    data = json.loads(res.output)
    assert data["failed"] == 0 and data["passed"] == 7
    bad = rls_project / "tests" / "rls" / "typo.yaml"
    bad.write_text(
        "actors:\n  a: {role: app_user}\ncases:\n  - probe: SELECT 1\n    expect: {b: 1}\n"
    )
    res = _run(rls_project, scratch_server, str(bad))
    assert res.exit_code == 2 and "typo.yaml:5: unknown actor 'b'" in res.stderr


def test_api_against_an_existing_database(rls_project: Path, scratch_server: Server) -> None:
    from rlskit.scratch import scratch_database

    project = Project.find(rls_project)
    with scratch_database(project, scratch_server.url("postgres")) as url:
        commands.upgrade(project, "head", RunOptions(url=url))
        report = commands.test(project, database_url=url)
    assert report.passed == 153 and not report.failed
