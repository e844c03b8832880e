"""Adopting real schemas: each corpus schema, applied as a DBA would (the platform by
the superuser, the schema by the role migrations run as), goes through
`rlskit baseline`; a database rebuilt from the revision on another cluster must be
identical by an oracle of its own (pg_dump --schema-only, catalog queries,
has_*_privilege as each role), and `rlskit drift`, `rlskit lint` and `rlskit test`
must agree. Each case runs with migrations as the superuser and as a managed
platform's non-superuser ([rlskit] migrate_as). The steps live in
bench/corpus_adopt.py, which prints the same as a table."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.corpus_adopt import (
    CASES,
    CORPUS,
    MIGRATOR,
    MODES,
    Case,
    adopt,
    available,
    psql_files,
)

from .conftest import Database, Server, rlskit

pytestmark = pytest.mark.skipif(not available(), reason="the corpus of real schemas is absent")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_corpus_schema_round_trips(
    server: Server, scratch_server: Server, case: Case, mode: str
) -> None:
    r = adopt(
        case,
        mode,
        server.url(),
        scratch_server.url(),
        server.psql,
        server.embedded.tool("pg_dump"),
    )
    assert r.baseline_exit == 0, r.baseline_output
    assert "matches the source" in r.baseline_output  # the self-check ran and agreed
    assert 'CREATE SCHEMA "public"' not in r.up_sql
    # the transaction-local settings of the dump ended with the revision
    assert "SET LOCAL check_function_bodies = false" in r.up_sql or (
        "check_function_bodies" not in r.up_sql
    )
    assert r.differences is not None, r.rebuild_output
    assert r.differences == [], "\n".join(r.differences)
    assert r.drift == []
    assert r.test_exit == 0, r.test_output
    # lint speaks of the migrating role only where running as it changes something:
    # a non-superuser owner that FORCE would hold to the policies (RLS007), a data
    # migration under FORCE RLS (RLS043); it is not an application role
    about_it = [x for x in r.lint_lines if MIGRATOR in x and x[:6] not in ("RLS007", "RLS043")]
    assert about_it == []
    print(
        f"\nROUNDTRIP {case.id} [{mode}]: baseline (with self-check) "
        f"{r.baseline_seconds:.1f}s, independent diff 0, drift 0, lint {r.lint_findings} "
        f"findings ({r.lint_errors} errors) {r.lint_codes}"
    )


# A platform that lets its migrating role use auth/storage but not manage policies on
# tables it does not own (plain managed PostgreSQL; Supabase needs supautils for it).
NO_POLICY_GRANTS = """
DO $platform$
DECLARE m text := nullif(current_setting('rlskit.migrate_as', true), '');
BEGIN
    IF m IS NOT NULL THEN
        EXECUTE format('GRANT USAGE ON SCHEMA auth, storage TO %I', m);
        EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA auth, storage TO %I', m);
    END IF;
END
$platform$;
"""


@pytest.mark.parametrize(
    "source, setup, refused",
    [
        pytest.param(
            ["00_supabase_stub.sql", "02_supabase_user_management.sql"],
            ["00_supabase_stub.sql", "no_policy_grants.sql"],
            ("must be owner of table objects", "CREATE POLICY", 'ON "storage"."objects"'),
            id="policy-on-a-platform-table-it-does-not-own",
        ),
        pytest.param(
            ["admin_bypasses_rls.sql"],
            [],
            ("BYPASSRLS", 'CREATE ROLE "app_admin"'),
            id="role-with-bypassrls",
        ),
    ],
)
def test_baseline_says_what_the_migrating_role_cannot_do(
    database: Database,
    scratch_server: Server,
    tmp_path: Path,
    source: list[str],
    setup: list[str],
    refused: tuple[str, ...],
) -> None:
    """What a non-superuser cannot do on the platform either is refused by name, not
    written: the error names the statement, the role and that it is migrate_as's."""
    (tmp_path / "no_policy_grants.sql").write_text(NO_POLICY_GRANTS)
    (tmp_path / "admin_bypasses_rls.sql").write_text(
        "CREATE ROLE app_admin NOLOGIN BYPASSRLS;\n"
        "CREATE TABLE public.reports (id int PRIMARY KEY);\n"
        "GRANT SELECT ON public.reports TO app_admin;\n"
    )

    def where(name: str) -> Path:
        return CORPUS / name if (CORPUS / name).exists() else tmp_path / name

    psql_files(database.server.psql, database.url, [where(f) for f in source])
    proj = tmp_path / "adopt"
    assert rlskit("init", str(proj)).exit_code == 0
    ini = proj / "alembic.ini"
    setting = "migrate_as = corpus_migrator\n"
    if setup:
        setting += f"scratch_setup = {', '.join(str(where(f)) for f in setup)}\n"
    ini.write_text(ini.read_text().replace("[rlskit]\n", f"[rlskit]\n{setting}", 1))
    res = rlskit("baseline", "--scratch-url", scratch_server.url(), project=proj, url=database.url)
    out = " ".join((res.output + res.stderr).split())
    assert res.exit_code != 0, out
    for text in refused:
        assert text in out, out
    assert "corpus_migrator" in out and "migrate_as" in out, out
    assert "no SUPERUSER" in out, out
    assert not list((proj / "sql").glob("*.sql")), "nothing is written"
    assert "matches the source" not in out
