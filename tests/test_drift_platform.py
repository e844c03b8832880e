"""scratch_setup: a project on a platform (examples/supabase_platform). The platform
SQL goes into every scratch database and never into a real one; drift compares
what the migrations own and leaves the platform's own objects alone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.errors import RlskitError
from rlskit.project import Project

from .conftest import REPO, Database, Server, rlskit

EXAMPLE = REPO / "examples" / "supabase_platform"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    dest = tmp_path / "supabase"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".rlskit", "__pycache__"))
    return dest


def _psql_file(server: Server, url: str, path: Path) -> None:
    proc = subprocess.run(
        [server.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(path), url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def _drift(project: Path, db: Database, scratch: Server) -> list:  # type: ignore[type-arg]
    return commands.drift(Project.find(project), RunOptions(url=db.url), scratch.url()).differences


@pytest.fixture
def on_platform(example: Path, database: Database) -> Database:
    """A 'real' database: the platform was there before (psql), then rlskit upgrade."""
    _psql_file(database.server, database.url, example / "platform" / "supabase.sql")
    res = rlskit("upgrade", project=example, url=database.url)
    assert res.exit_code == 0, res.output + res.stderr
    return database


def test_scratch_setup_never_touches_a_real_database(example: Path, database: Database) -> None:
    res = rlskit("upgrade", project=example, url=database.url)
    assert res.exit_code != 0 and "auth" in res.stderr  # the platform is not there
    assert database.scalar("SELECT to_regnamespace('auth')") is None
    assert database.scalar("SELECT count(*) FROM pg_roles WHERE rolname = 'service_role'") == 0


def test_bad_scratch_setup_is_named(example: Path, scratch_server: Server) -> None:
    ini = example / "alembic.ini"
    ini.write_text(ini.read_text().replace("platform/supabase.sql", "platform/nope.sql"))
    res = rlskit("lint", project=example, url=scratch_server.url())
    assert res.exit_code != 0 and "platform/nope.sql" in res.stderr
    (example / "platform" / "nope.sql").write_text("CREATE ROLE anon;\nSELECT 1/0;\n")
    with pytest.raises(RlskitError, match=r"platform/nope\.sql:2: division by zero"):
        commands.lint(Project.find(example), RunOptions(url=scratch_server.url()))


# the real platform is bigger than the stand-in: none of this is the project's business
PLATFORM_DIFFERS = """
ALTER TABLE auth.users ADD COLUMN phone text;
CREATE FUNCTION auth.extra() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS 'SELECT ''x''';
GRANT SELECT ON auth.users TO authenticated;
CREATE ROLE supabase_admin NOLOGIN;
GRANT anon TO supabase_admin;
ALTER ROLE service_role CONNECTION LIMIT 10;
CREATE POLICY platform_own ON storage.buckets FOR SELECT TO authenticated USING (true);
"""


def test_drift_compares_only_what_the_migrations_own(
    example: Path, on_platform: Database, scratch_server: Server
) -> None:
    assert _drift(example, on_platform, scratch_server) == []
    with on_platform.connect(autocommit=True) as conn:
        conn.execute(PLATFORM_DIFFERS)
    assert [d.line() for d in _drift(example, on_platform, scratch_server)] == []


APP_CHANGES = [
    (
        "DROP POLICY avatars_read ON storage.objects",
        ("policy", "storage.objects.avatars_read"),
    ),
    (
        "DROP TRIGGER on_auth_user_created ON auth.users",
        ("trigger", "auth.users.on_auth_user_created"),
    ),
    (
        "GRANT EXECUTE ON FUNCTION public.handle_new_user() TO anon",
        ("function", "public.handle_new_user()"),
    ),
    (
        "GRANT SELECT ON public.notes TO anon",
        ("grant", "SELECT on public.notes to anon"),
    ),
]


@pytest.mark.parametrize(("change", "expected"), APP_CHANGES, ids=[c[1][0] for c in APP_CHANGES])
def test_changes_to_what_the_migrations_own_on_platform_tables_are_reported(
    example: Path,
    on_platform: Database,
    scratch_server: Server,
    change: str,
    expected: tuple[str, str],
) -> None:
    with on_platform.connect(autocommit=True) as conn:
        conn.execute(PLATFORM_DIFFERS)
        conn.execute(change)
    diffs = _drift(example, on_platform, scratch_server)
    assert [(d.kind, d.object) for d in diffs] == [expected], [d.line() for d in diffs]
    with on_platform.connect(autocommit=True) as conn:
        conn.execute(diffs[0].restore)
    assert _drift(example, on_platform, scratch_server) == []
