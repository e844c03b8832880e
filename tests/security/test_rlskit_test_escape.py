"""Attacks on `rlskit test`: probes that leave their case, and owners that RLS
exempts (issue 12, item 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlskit import commands
from rlskit.access import ProbeEscaped
from rlskit.errors import SpecError
from rlskit.project import Project

from ..conftest import Database, rlskit

FIXTURES = """
  INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'o1'), (2, 'o2');
  INSERT INTO app.customers (organisation_id, name) VALUES (1, 'x'), (1, 'y'), (2, 'z');
"""


@pytest.fixture
def migrated(project: Path, database: Database) -> Database:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    return database


def run(project: Path, db: Database, yaml: str) -> commands.Any:
    path = project / "tests" / "rls" / "attack.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml)
    return commands.test(Project.find(project), [path], database_url=db.url)


def test_probe_that_commits_is_refused_and_changes_nothing(
    project: Path, migrated: Database
) -> None:
    yaml = (
        "actors:\n  t1: {role: app_user, settings: {app.tenant_id: '1'}}\n"
        "cases:\n  - name: escape\n"
        "    probe: COMMIT; RESET ROLE; ALTER ROLE postgres SET work_mem = '1234kB'\n"
        "    expect: {t1: 0}\n"
    )
    try:
        with pytest.raises(SpecError, match=r"attack.yaml:5: escape: .*transaction control"):
            run(project, migrated, yaml)
        config = migrated.scalar("SELECT rolconfig FROM pg_roles WHERE rolname = 'postgres'")
        assert not config or "work_mem=1234kB" not in config
    finally:
        with migrated.connect(autocommit=True) as conn:
            conn.execute("ALTER ROLE postgres RESET work_mem")


@pytest.mark.parametrize(
    "probe",
    [
        "RELEASE SAVEPOINT rlskit_case; SELECT set_config('app.tenant_id', '1', false); "
        "SAVEPOINT rlskit_case",
        "SELECT set_config('ROLE', 'postgres', true)",
        "SET ROLE postgres",
        "RESET ALL",
        "SET SESSION AUTHORIZATION DEFAULT",
        "SELECT set_config(lower('ROLE'), 'postgres', true)",
        "DO $$BEGIN PERFORM set_config('role', 'postgres', true); END$$",
        "DO $$BEGIN EXECUTE 'SET ROLE postgres'; END$$",
        "DISCARD ALL",
    ],
)
def test_probes_that_leave_their_case_are_refused_before_running(
    project: Path, migrated: Database, probe: str
) -> None:
    yaml = (
        f"fixtures: |{FIXTURES}"
        "actors:\n  t1: {role: app_user, settings: {app.tenant_id: '1'}}\n"
        "  nobody: {role: app_user}\n"
        "cases:\n"
        f"  - probe: {probe!r}\n    expect: {{t1: 0}}\n"
        # passes only if the first probe planted tenant 1 (or a role) for everyone
        "  - probe: SELECT id FROM app.customers\n    expect: {nobody: 2}\n"
    )
    with pytest.raises(SpecError, match="the probe"):
        run(project, migrated, yaml)


def test_role_changed_through_a_function_is_caught_after_the_case(
    project: Path, migrated: Database
) -> None:
    yaml = (
        "fixtures: |"
        + FIXTURES
        + "  CREATE FUNCTION public.become(r text) RETURNS text LANGUAGE sql\n"
        "    AS $$ SELECT set_config('role', r, true) $$;\n"
        "actors:\n  nobody: {role: app_user}\n"
        "cases:\n  - name: sneaky\n"
        "    probe: SELECT public.become('postgres'); SELECT id FROM app.customers\n"
        "    expect: {nobody: 3}\n"
    )
    with pytest.raises(ProbeEscaped, match=r"sneaky \[nobody\].*changed role.*nothing was kept"):
        run(project, migrated, yaml)


def test_reserved_actor_names_are_refused(project: Path, migrated: Database) -> None:
    for actor in ("{role: none}", "{role: app_user, settings: {Role: postgres}}"):
        yaml = f"actors:\n  a: {actor}\ncases: []\n"
        with pytest.raises(SpecError, match="reserved"):
            run(project, migrated, yaml)


OWNED = """
  CREATE ROLE "Owners" NOLOGIN;
  CREATE ROLE "Mid" NOLOGIN {inherit};
  GRANT "Owners" TO "Mid";
  GRANT "Mid" TO app_user;
  CREATE TABLE app."Mixed" (id int);
  INSERT INTO app."Mixed" VALUES (1), (2);
  ALTER TABLE app."Mixed" ENABLE ROW LEVEL SECURITY;
  ALTER TABLE app."Mixed" OWNER TO "Owners";
  GRANT SELECT ON app."Mixed" TO app_user;
"""


@pytest.mark.parametrize(("inherit", "exempt"), [("INHERIT", True), ("NOINHERIT", False)])
def test_owner_of_a_mixed_case_table_through_a_chain_is_refused(
    project: Path, migrated: Database, inherit: str, exempt: bool
) -> None:
    fixtures = OWNED.format(inherit=inherit)
    # the oracle: what the server does for app_user (no policy: RLS shows no row)
    with migrated.connect() as conn:
        conn.execute(fixtures)
        conn.execute("SET ROLE app_user")
        seen = conn.execute('SELECT count(*) FROM app."Mixed"').fetchone()
        conn.rollback()
    assert seen == ((2,) if exempt else (0,))
    yaml = (
        f"fixtures: |{fixtures}"
        "actors:\n  u: {role: app_user}\n"
        'cases:\n  - probe: SELECT id FROM app."Mixed"\n    expect: {u: 0}\n'
    )
    report = run(project, migrated, yaml)
    if exempt:
        assert report.refused and 'app."Mixed"' in report.refused[0], report.refused
        assert not report.results
    else:
        assert not report.refused
        assert [r.ok for r in report.results] == [True]


def test_runner_notices_an_ended_transaction_and_does_not_claim_a_rollback(
    migrated: Database,
) -> None:
    """Behind the parser: a probe that ends the transaction stops the run, and the
    message says what may have been kept."""
    import psycopg

    from rlskit.access import Report, Suite, run_suite

    suite = Suite.model_validate(
        {
            "fixtures": "INSERT INTO app.organisations (id, name) OVERRIDING SYSTEM VALUE "
            "VALUES (7, 'kept?')",
            "actors": {"t1": {"role": "app_user"}},
            "cases": [{"name": "ends it", "probe": "COMMIT", "expect": {"t1": 0}}],
        }
    )
    with psycopg.connect(migrated.url) as conn, pytest.raises(ProbeEscaped) as info:
        run_suite(conn, suite, "attack.yaml", Report())
    assert "ended the run's transaction" in str(info.value)
    assert "may have been committed" in str(info.value)
    assert "nothing was kept" not in str(info.value)
    # and it was: the report must not have said otherwise
    assert migrated.scalar("SELECT count(*) FROM app.organisations WHERE id = 7") == 1


def test_role_changed_before_a_failing_statement_is_caught(
    project: Path, migrated: Database
) -> None:
    """The probe switches to a role without privileges, so the expected `denied`
    would come from that role, not from the actor."""
    yaml = (
        "fixtures: |" + FIXTURES + "  CREATE ROLE powerless NOLOGIN;\n"
        "  GRANT powerless TO postgres;\n"
        "  CREATE FUNCTION public.become(r text) RETURNS text LANGUAGE sql\n"
        "    AS $$ SELECT set_config('role', r, true) $$;\n"
        "actors:\n  t1: {role: app_user, settings: {app.tenant_id: '1'}}\n"
        "cases:\n  - name: sneaky\n"
        "    probe: SELECT public.become('powerless'); SELECT id FROM app.customers\n"
        "    expect: {t1: denied}\n"
    )
    with pytest.raises(ProbeEscaped, match=r"changed role from app_user to powerless"):
        run(project, migrated, yaml)
