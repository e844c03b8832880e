"""migrate_as: migrations run as a managed-PostgreSQL-like role (CREATEROLE, CREATEDB,
no SUPERUSER, no BYPASSRLS) on scratch databases, as they do in production, and
drift is right about what that changes (PostgreSQL 16+'s implicit memberships of
a CREATEROLE creator are not drift)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project
from rlskit.scratch import as_migrator, scratch_database

from .conftest import REPO, Database, Server, rlskit

ROLE = "app_migrator"


@pytest.fixture
def managed(project: Path) -> Path:
    ini = project / "alembic.ini"
    ini.write_text(ini.read_text().replace("[rlskit]\n", f"[rlskit]\nmigrate_as = {ROLE}\n", 1))
    return project


@pytest.fixture
def live(managed: Path, database: Database) -> Database:
    """A 'production' database migrated by the non-superuser role."""
    with database.connect(autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {ROLE} LOGIN CREATEROLE CREATEDB PASSWORD 'pw'")
        conn.execute(f'ALTER DATABASE "{database.name}" OWNER TO {ROLE}')
    url = database.server.url(database.name, user=ROLE, password="pw")
    res = rlskit("upgrade", project=managed, url=url)
    assert res.exit_code == 0, res.output + res.stderr
    return database


def test_scratch_databases_migrate_as_the_managed_role(
    managed: Path, scratch_server: Server
) -> None:
    project = Project.find(managed)
    with scratch_database(project, scratch_server.url()) as url:
        assert as_migrator(url) != url
        commands.upgrade(project, "heads", RunOptions(url=as_migrator(url)))
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                "WHERE rolname = %s",
                (ROLE,),
            ).fetchone()
            assert row == (False, False, True, True)
            owner = conn.execute(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'app.notes'::regclass"
            ).fetchone()
            assert owner == (ROLE,)
    with scratch_server.admin() as admin:  # and nothing is left on the scratch server
        assert admin.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = %s", (ROLE,)
        ).fetchone() == (0,)


def test_drift_is_zero_under_a_non_superuser_migrator(
    managed: Path, live: Database, scratch_server: Server
) -> None:
    url = live.server.url(live.name, user=ROLE, password="pw")
    report = commands.drift(Project.find(managed), RunOptions(url=url), scratch_server.url())
    assert [d.line() for d in report.differences] == []
    # a real change is still seen
    with live.connect(autocommit=True) as conn:
        conn.execute("GRANT app_admin TO app_user")
    report = commands.drift(Project.find(managed), RunOptions(url=url), scratch_server.url())
    assert [(d.kind, d.object) for d in report.differences] == [
        ("membership", "app_user in app_admin")
    ]


def test_lint_runs_under_the_managed_role(managed: Path, scratch_server: Server) -> None:
    report = commands.lint(Project.find(managed), RunOptions(url=scratch_server.url()))
    assert report.build_seconds > 0
    # the helpers' owner policies (TO CURRENT_USER) are the migrating role's, not an app role's
    assert [f"{f.rule} {f.loc}: {f.message}" for f in report.findings] == []


def test_access_matrix_under_the_managed_role(managed: Path, scratch_server: Server) -> None:
    res = rlskit("test", str(REPO / "tests" / "rls"), project=managed, url=scratch_server.url())
    assert res.exit_code == 0, res.output + res.stderr
