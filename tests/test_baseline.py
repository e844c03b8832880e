"""rlskit baseline: adopt a database built by hand; the revision recreates it exactly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project

from .conftest import REPO, Database, Server, rlskit


@pytest.fixture
def handmade(database: Database, tmp_path: Path) -> Database:
    """The reference schema applied by a DBA with psql, not by rlskit."""
    ups = sorted((REPO / "sql").glob("*.up.sql"))
    script = tmp_path / "all.sql"
    script.write_text("\n".join(p.read_text().rstrip() + "\n;" for p in ups))
    proc = subprocess.run(
        [
            database.server.psql,
            "-X",
            "-q",
            "-1",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            str(script),
            database.url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    with database.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO django.auth_user (id, username) VALUES (1, 'alice')")
        conn.execute("INSERT INTO sales.salespeople (id, name) VALUES (1, 'Picard')")
    return database


@pytest.mark.parametrize(
    "schemas",
    [["django"], ["cms"], ["sales"], ["shop"], ["crm"], ["app", "auth"]],
    ids=lambda s: "+".join(s),
)
def test_baseline_recreates_each_seed_scheme(
    handmade: Database, scratch_server: Server, tmp_path: Path, schemas: list[str]
) -> None:
    proj = tmp_path / "adopt"
    assert rlskit("init", str(proj)).exit_code == 0
    args = ["baseline", "--mark-applied"] + [x for s in schemas for x in ("--schema", s)]
    res = rlskit(*args, project=proj, url=handmade.url)
    assert res.exit_code == 0, res.stderr
    up = next((proj / "sql").glob("0001_*.up.sql")).read_text()
    if schemas == ["django"]:
        assert 'CREATE ROLE "django:1"' in up and 'GRANT "django:1" TO "django"' in up
    if schemas == ["shop"]:
        assert 'GRANT UPDATE("phone_number") ON TABLE "shop"."account" TO "normal_account";' in up
    report = commands.drift(
        Project.find(proj), RunOptions(url=handmade.url), scratch_server.url("postgres")
    )
    assert [d.line() for d in report.differences] == []
    # recorded as applied: nothing to run there
    again = rlskit("upgrade", project=proj, url=handmade.url)
    assert again.exit_code == 0 and "Nothing to do" in again.output


def test_column_grants_and_quoted_roles_survive(
    handmade: Database, scratch_server: Server, tmp_path: Path
) -> None:
    proj = tmp_path / "adopt"
    rlskit("init", str(proj))
    assert (
        rlskit(
            "baseline", "--schema", "shop", "--schema", "django", project=proj, url=handmade.url
        ).exit_code
        == 0
    )
    up = next((proj / "sql").glob("0001_*.up.sql")).read_text()
    assert 'CREATE ROLE "django:1" NOSUPERUSER' in up
    assert 'GRANT SELECT("id") ON TABLE "shop"."store" TO "normal_account";' in up
    assert 'GRANT UPDATE("description") ON TABLE "shop"."store" TO "store_owner";' in up


def test_bad_input(handmade: Database, tmp_path: Path) -> None:
    proj = tmp_path / "adopt"
    rlskit("init", str(proj))
    res = rlskit("baseline", "--schema", "nope", project=proj, url=handmade.url)
    assert res.exit_code == 1 and "Schema 'nope' does not exist" in res.stderr
    assert not list((proj / "sql").glob("*.sql"))
    with handmade.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE peeker LOGIN PASSWORD 'pw'")
    url = handmade.server.url(handmade.name, user="peeker", password="pw")
    res = rlskit("baseline", "--schema", "app", project=proj, url=url)
    assert res.exit_code == 1 and "pg_dump could not read" in res.stderr
    assert "pw@" not in res.stderr
    # a baseline must be the first revision
    assert rlskit("baseline", "--schema", "cms", project=proj, url=handmade.url).exit_code == 0
    res = rlskit("baseline", "--schema", "cms", project=proj, url=handmade.url)
    assert res.exit_code == 2 and "first one" in res.stderr
