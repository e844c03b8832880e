"""rlskit drift: each kind of manual change is reported with SQL that restores it."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project

from .conftest import Database, Server, rlskit

CHANGES = [
    ("role attribute", "ALTER ROLE app_user BYPASSRLS", "role", "app_user"),
    ("membership", "GRANT app_admin TO app_user", "membership", "app_user in app_admin"),
    ("rls disabled", "ALTER TABLE app.notes DISABLE ROW LEVEL SECURITY", "rls", "app.notes"),
    (
        "rls not forced",
        "ALTER TABLE app.customers NO FORCE ROW LEVEL SECURITY",
        "rls",
        "app.customers",
    ),
    (
        "extra grant",
        "GRANT DELETE ON app.organisations TO app_user",
        "grant",
        "DELETE on app.organisations to app_user",
    ),
    (
        "revoked grant",
        "REVOKE SELECT ON app.notes FROM app_user",
        "grant",
        "SELECT on app.notes to app_user",
    ),
    (
        "extra column grant",
        "GRANT UPDATE (notes) ON app.customers TO app_user",
        "column grant",
        "UPDATE (notes) on app.customers to app_user",
    ),
    (
        "revoked column grant",
        "REVOKE SELECT (email) ON app.customers FROM app_user",
        "column grant",
        "SELECT (email) on app.customers to app_user",
    ),
    (
        "dropped policy",
        "DROP POLICY notes_owner_delete ON app.notes",
        "policy",
        "app.notes.notes_owner_delete",
    ),
    (
        "extra policy",
        "CREATE POLICY sneaky ON app.notes FOR SELECT TO app_user USING (true)",
        "policy",
        "app.notes.sneaky",
    ),
    (
        "policy roles",
        "ALTER POLICY users_select_own ON app.users TO app_user, app_admin",
        "policy",
        "app.users.users_select_own",
    ),
    (
        "policy expression",
        "ALTER POLICY notes_owner_select ON app.notes USING (true)",
        "policy",
        "app.notes.notes_owner_select",
    ),
    (
        "function security",
        "ALTER FUNCTION app.current_user_id() SECURITY DEFINER",
        "function",
        "app.current_user_id()",
    ),
    (
        "function config",
        "ALTER FUNCTION app.create_user_role() RESET search_path",
        "function",
        "app.create_user_role()",
    ),
    (
        "function execute",
        "GRANT EXECUTE ON FUNCTION app.drop_user_role() TO PUBLIC",
        "function",
        "app.drop_user_role()",
    ),
    (
        "trigger disabled",
        "ALTER TABLE app.users DISABLE TRIGGER users_drop_role",
        "trigger",
        "app.users.users_drop_role",
    ),
    (
        "trigger dropped",
        "DROP TRIGGER users_create_role ON app.users",
        "trigger",
        "app.users.users_create_role",
    ),
]


@pytest.fixture
def migrated(project: Path, database: Database) -> Database:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    return database


def _drift(project: Path, db: Database, scratch: Server) -> list:  # type: ignore[type-arg]
    return commands.drift(
        Project.find(project), RunOptions(url=db.url), scratch.url("postgres")
    ).differences


def test_no_drift_after_upgrade(project: Path, migrated: Database, scratch_server: Server) -> None:
    assert _drift(project, migrated, scratch_server) == []
    res = rlskit(
        "drift", "--scratch-url", scratch_server.url("postgres"), project=project, url=migrated.url
    )
    assert res.exit_code == 0 and "No drift" in res.output


@pytest.mark.parametrize(("label", "change", "kind", "obj"), CHANGES, ids=[c[0] for c in CHANGES])
def test_each_manual_change_is_reported_and_restorable(
    project: Path,
    migrated: Database,
    scratch_server: Server,
    label: str,
    change: str,
    kind: str,
    obj: str,
) -> None:
    with migrated.connect(autocommit=True) as conn:
        conn.execute(change)
    diffs = _drift(project, migrated, scratch_server)
    assert [(d.kind, d.object) for d in diffs] == [(kind, obj)], [d.line() for d in diffs]
    res = rlskit(
        "drift", "--scratch-url", scratch_server.url("postgres"), project=project, url=migrated.url
    )
    assert res.exit_code == 1 and obj in res.output
    with migrated.connect(autocommit=True) as conn:
        conn.execute(diffs[0].restore)
    assert _drift(project, migrated, scratch_server) == []


def test_drift_at_an_older_revision(
    project: Path, database: Database, scratch_server: Server
) -> None:
    assert rlskit("upgrade", "0002", project=project, url=database.url).exit_code == 0
    assert _drift(project, database, scratch_server) == []
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("DROP POLICY customers_tenant_isolation ON app.customers")
    diffs = _drift(project, database, scratch_server)
    assert [d.object for d in diffs] == ["app.customers.customers_tenant_isolation"]
