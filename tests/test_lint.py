"""rlskit lint: every rule has a failing and a passing data file, an --explain
text; the seed articles' SQL is caught as written and the corrected reference
project lints clean (SQL files and applied catalog)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.lint import LintConfig, lint_files, run_rules
from rlskit.lint import catalog as lint_catalog
from rlskit.lint.rules import ALL_RULES, RULES_BY_ID
from rlskit.project import Project

from .conftest import REPO, Database, rlskit, write_revision

CASES = Path(__file__).parent / "lint_cases"
SEEDS = Path(__file__).parent / "lint_seeds"


def rules_in(sql: str, name: str = "case.sql", config: LintConfig | None = None) -> set[str]:
    return {f.rule for f in lint_files([(name, sql)], config or LintConfig())}


def test_every_rule_has_cases_and_an_explanation() -> None:
    assert len(ALL_RULES) >= 20
    for rule in ALL_RULES:
        assert (CASES / rule.id / "fail.sql").is_file(), rule.id
        assert (CASES / rule.id / "pass.sql").is_file(), rule.id
        assert rule.doc.startswith(rule.id), rule.id
        assert "Anti-pattern" in rule.doc and "Fix" in rule.doc, rule.id
        res = rlskit("lint", "--explain", rule.id.lower())
        assert res.exit_code == 0 and rule.name in res.output


@pytest.mark.parametrize("rule_id", sorted(RULES_BY_ID))
def test_rule_cases(rule_id: str) -> None:
    fail = (CASES / rule_id / "fail.sql").read_text()
    ok = (CASES / rule_id / "pass.sql").read_text()
    ini = CASES / rule_id / "alembic.ini"  # a case may need [rlskit.lint] settings
    config = LintConfig.from_ini(ini) if ini.is_file() else LintConfig(lock_timeout=5.0)
    assert rule_id in rules_in(fail, config=config), f"{rule_id} missed its failing case"
    assert rule_id not in rules_in(ok, config=config), f"{rule_id} fired on its passing case"


SEED_MISTAKES = {
    # seed 000: login role is a SUPERUSER, GRANT ALL ... TO public, 'django:' || id =
    # current_user, not FORCEd, EXECUTE with ||, USING (is_superuser) names the column,
    # policies without TO
    "seed_000.sql": {
        "RLS008",
        "RLS015",
        "RLS019",
        "RLS007",
        "RLS013",
        "RLS006",
        "RLS005",
        "RLS024",
    },
    # seed 001: UPDATE/DELETE policies FOR SELECT, grant to misternobody (typo), GRANT ALL,
    # permission table readable, current_setting without missing_ok, forgeable myapp.role,
    # 'editor_articles'/'admin_articles' never granted, password in the migration
    "seed_001.sql": {
        "RLS001",
        "RLS003",
        "RLS026",
        "RLS016",
        "RLS010",
        "RLS017",
        "RLS018",
        "RLS023",
        "RLS025",
        "RLS024",
    },
    # seed 002: RLS never enabled, salesperson_id::text = current_user, no sequence grant
    "seed_002.sql": {"RLS009", "RLS010", "RLS019", "RLS027", "RLS024"},
    # seed 003: UPDATE policies without USING, admin policy TO store_owner, per-row plpgsql
    # helper, owner_id shadowing, product grants written ON store, GRANT ALL, not forced
    "seed_003.sql": {
        "RLS002",
        "RLS004",
        "RLS019",
        "RLS014",
        "RLS028",
        "RLS016",
        "RLS007",
        "RLS018",
    },
    # seed 004: IN (SELECT fn()), RLS never enabled, the RBAC policy is not valid SQL
    "seed_004.sql": {"RLS019", "RLS009", "RLS000"},
}


def _seed_project(tmp_path: Path, seed: str) -> Path:
    res = rlskit("init", str(tmp_path))
    assert res.exit_code == 0
    assert rlskit("new", "seed as written", project=tmp_path).exit_code == 0
    up = next((tmp_path / "sql").glob("0001_*.up.sql"))
    shutil.copy(SEEDS / seed, up)
    return tmp_path


@pytest.mark.parametrize("seed", sorted(SEED_MISTAKES))
def test_seed_mistakes_are_caught_as_written(tmp_path: Path, seed: str) -> None:
    project = _seed_project(tmp_path, seed)
    res = rlskit("lint", "--no-db", "--format", "json", project=project)
    found = {f["rule"] for f in json.loads(res.output)}
    assert SEED_MISTAKES[seed] <= found, f"missed {SEED_MISTAKES[seed] - found}"
    assert res.exit_code == 1  # error-level findings fail CI
    text = rlskit("lint", "--no-db", project=project).output
    assert "sql/0001_seed_as_written.up.sql" in text


def test_corrected_reference_project_lints_clean(database: Database) -> None:
    # The scratch database goes on the test server (roles are cleaned up after).
    server_url = database.server.url("postgres")
    report = commands.lint(Project.find(REPO), RunOptions(url=server_url), with_database=True)
    assert [f"{f.rule} {f.loc}: {f.message}" for f in report.findings] == []


def test_catalog_rules_see_what_files_do_not(project: Path, database: Database) -> None:
    """A manual change in the database (not in any file) is caught from the catalog."""
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute("ALTER ROLE app_user BYPASSRLS")
        conn.execute("ALTER TABLE app.customers NO FORCE ROW LEVEL SECURITY")
        # (FORCE matters for an owner RLS applies to, not for a superuser owner)
        conn.execute("CREATE ROLE lint_table_owner NOLOGIN")
        conn.execute("ALTER TABLE app.customers OWNER TO lint_table_owner")
        conn.execute("GRANT TRUNCATE ON app.notes TO app_user")
        conn.execute(
            "CREATE FUNCTION app.leak() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$"
        )
        model = lint_catalog.build(conn)
        conn.execute("ALTER ROLE app_user NOBYPASSRLS")
        conn.execute("DROP OWNED BY lint_table_owner CASCADE")
        conn.execute("DROP ROLE lint_table_owner")
    found = {(f.rule, f.loc.obj) for f in run_rules(model, LintConfig())}
    assert ("RLS008", "role app_user") in found
    assert ("RLS007", "app.customers") in found
    assert ("RLS016", "app.notes") in found
    assert ("RLS011", "function app.leak") in found
    assert ("RLS012", "function app.leak") in found


def test_suppressions_per_statement_and_per_project(tmp_path: Path) -> None:
    fail = (CASES / "RLS004" / "fail.sql").read_text()
    assert "RLS004" in rules_in(fail)
    suppressed = fail.replace(
        "CREATE POLICY t_all", "-- rlskit: ignore RLS004\nCREATE POLICY t_all"
    )
    assert "RLS004" not in rules_in(suppressed)
    assert "RLS004" not in rules_in(fail, config=LintConfig(ignore={"RLS004"}))
    # a suppression covers its own statement only
    other = suppressed + "CREATE POLICY t_more ON t FOR SELECT TO app USING (true);\n"
    assert "RLS004" in rules_in(other)


def test_output_formats_and_exit_codes(tmp_path: Path) -> None:
    project = _seed_project(tmp_path, "seed_002.sql")
    gh = rlskit("lint", "--no-db", "--format", "github", project=project)
    assert gh.exit_code == 1
    assert "::error file=sql/0001_seed_as_written.up.sql,line=" in gh.output
    assert "title=RLS009::" in gh.output
    listing = rlskit("lint", "--list")
    assert listing.exit_code == 0 and listing.output.count("RLS0") == len(ALL_RULES)
    assert rlskit("lint", "--explain", "RLS999").exit_code == 2
    # warnings alone do not fail CI
    write_revision(
        project,
        "0100",
        "CREATE TABLE w (id int);\nALTER TABLE w ENABLE ROW LEVEL SECURITY;",
        "",
        message="warn",
    )
    (project / "sql" / "0001_seed_as_written.up.sql").write_text("SELECT 1;\n")
    res = rlskit("lint", "--no-db", project=project)
    assert res.exit_code == 0 and "RLS007 warning" in res.output
