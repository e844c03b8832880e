"""rlskit permissions against a real server, on the reference schema with data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project

from .conftest import APP_DATA, Database, rlskit


@pytest.fixture
def migrated(project: Path, database: Database) -> Path:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute(APP_DATA)
    return project


def _report(
    project: Path,
    db: Database,
    role: str,
    settings: dict[str, str] | None = None,
    count: bool = True,
):  # type: ignore[no-untyped-def]
    return commands.permissions(
        Project.find(project), role, settings, ["app"], count, RunOptions(url=db.url)
    )


def test_tenant_role_report(migrated: Path, database: Database) -> None:
    rep = _report(migrated, database, "app_user", {"app.tenant_id": "1"})
    t = {x.table: x for x in rep.tables}
    customers = t["app.customers"]
    assert customers.rls_forced and customers.bypasses_rls is None
    assert "SELECT (id, organisation_id, name, email)" in customers.column_privileges
    assert customers.verdict("SELECT") == "policy"
    assert customers.verdict("DELETE") == "denied"
    assert [p["name"] for p in customers.policies["UPDATE"]] == ["customers_tenant_isolation"]
    assert customers.counts["SELECT"] == 2
    assert t["app.notes"].privileges == {
        "SELECT": "direct",
        "INSERT": "direct",
        "UPDATE": "direct",
        "DELETE": "direct",
    }
    assert t["app.notes"].counts["SELECT"] == 0  # app_user is no user:N role
    # The data is untouched by the counting.
    assert database.scalar("SELECT count(*) FROM app.customers") == 3


def test_inherited_privileges_and_per_user_roles(migrated: Path, database: Database) -> None:
    rep = _report(migrated, database, "user:1")
    assert "app_user" in rep.member_of
    notes = next(x for x in rep.tables if x.table == "app.notes")
    assert notes.privileges["SELECT"] == "inherited"
    assert notes.counts == {"SELECT": 2, "UPDATE": 2, "DELETE": 2}
    assert database.scalar("SELECT count(*) FROM app.notes") == 3


def test_roles_rls_does_not_apply_to(migrated: Path, database: Database) -> None:
    rep = _report(migrated, database, "postgres", count=False)
    assert all(t.bypasses_rls == "superuser" for t in rep.tables)
    assert next(t for t in rep.tables if t.table == "app.notes").verdict("SELECT") == "all rows"


def test_formats_and_errors(migrated: Path, database: Database) -> None:
    base = ["permissions", "app_user", "--schema", "app", "--setting", "app.tenant_id=2"]
    js = rlskit(*base, "--format", "json", "--count", project=migrated, url=database.url)
    data = json.loads(js.output)
    assert data["role"] == "app_user"
    counts = {t["table"]: t["counts"] for t in data["tables"]}
    assert counts["app.customers"]["SELECT"] == 1
    md = rlskit(*base, "--format", "markdown", project=migrated, url=database.url)
    assert "| `app.customers` | forced | policy |" in md.output
    page = rlskit(*base, "--format", "html", project=migrated, url=database.url)
    assert page.output.startswith("<!doctype html>") and "customers_tenant_isolation" in page.output
    text = rlskit(*base, project=migrated, url=database.url)
    assert "app.customers  [RLS forced]" in text.output
    bad = rlskit("permissions", "nobody_here", project=migrated, url=database.url)
    assert bad.exit_code == 1 and "does not exist" in bad.stderr
    hostile = rlskit(
        "permissions", 'x"; DROP TABLE app.notes; --', project=migrated, url=database.url
    )
    assert hostile.exit_code == 1
    assert database.scalar("SELECT to_regclass('app.notes')::text") == "app.notes"
