"""rlskit drift sees everything that grants access: default privileges, owners,
schema privileges, new tables, extensions, view options. Each change made by hand
is reported, and its restore SQL brings drift back to zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project

from .conftest import Database, Server, rlskit, write_revision

VIEW = "CREATE VIEW app.my_notes WITH (security_invoker = true) AS SELECT id, body FROM app.notes;"

CHANGES = [
    (
        "default privileges in a schema",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO app_user",
        "default privilege",
        "<migrator> in app on TABLES to app_user",
    ),
    (
        "default privileges everywhere",
        "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC",
        "default privilege",
        "<migrator> in all schemas on FUNCTIONS to PUBLIC",
    ),
    ("table owner", "ALTER TABLE app.notes OWNER TO app_admin", "owner", "table app.notes"),
    (
        "function owner",
        "ALTER FUNCTION app.current_user_id() OWNER TO app_admin",
        "owner",
        "function app.current_user_id()",
    ),
    ("schema owner", "ALTER SCHEMA cms OWNER TO app_admin", "owner", "schema cms"),
    (
        "schema privilege",
        "GRANT CREATE ON SCHEMA app TO app_user",
        "schema grant",
        "CREATE on schema app to app_user",
    ),
    (
        "schema privilege revoked",
        "REVOKE USAGE ON SCHEMA app FROM app_user",
        "schema grant",
        "USAGE on schema app to app_user",
    ),
    (
        "new table without rls",
        "CREATE TABLE app.sneaky (id int); GRANT SELECT ON app.sneaky TO app_user",
        "table",
        "app.sneaky",
    ),
    ("extension", "CREATE EXTENSION citext SCHEMA app", "extension", "citext"),
    ("view option", "ALTER VIEW app.my_notes RESET (security_invoker)", "view", "app.my_notes"),
    (
        "view barrier",
        "ALTER VIEW app.my_notes SET (security_barrier = true)",
        "view",
        "app.my_notes",
    ),
]


@pytest.fixture
def migrated(project: Path, database: Database) -> Database:
    write_revision(project, "9001", VIEW, "DROP VIEW app.my_notes;", message="view")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.output + res.stderr
    return database


def _drift(project: Path, db: Database, scratch: Server) -> list:  # type: ignore[type-arg]
    return commands.drift(Project.find(project), RunOptions(url=db.url), scratch.url()).differences


@pytest.mark.parametrize(("label", "change", "kind", "obj"), CHANGES, ids=[c[0] for c in CHANGES])
def test_each_access_change_is_reported_and_restorable(
    project: Path,
    migrated: Database,
    scratch_server: Server,
    label: str,
    change: str,
    kind: str,
    obj: str,
) -> None:
    assert _drift(project, migrated, scratch_server) == []
    with migrated.connect(autocommit=True) as conn:
        conn.execute(change)
    diffs = _drift(project, migrated, scratch_server)
    assert [(d.kind, d.object) for d in diffs] == [(kind, obj)], [d.line() for d in diffs]
    with migrated.connect(autocommit=True) as conn:
        conn.execute(diffs[0].restore)
    assert [d.line() for d in _drift(project, migrated, scratch_server)] == []


def test_public_is_not_the_projects_unless_its_migrations_use_it(
    project: Path, migrated: Database, scratch_server: Server
) -> None:
    """The reference schema keeps out of public: what others put there is not drift."""
    with migrated.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE public.someone_elses (id int)")
        conn.execute("GRANT CREATE ON SCHEMA public TO app_user")
        conn.execute("CREATE EXTENSION citext SCHEMA public")
    assert [d.line() for d in _drift(project, migrated, scratch_server)] == []
