"""RLS043 (issue 13 item 3): a data migration on a FORCE RLS table, run by a
``migrate_as`` role that RLS applies to, silently changes no row."""

from __future__ import annotations

from pathlib import Path

from rlskit.lint import lint_files
from rlskit.lint.core import LintConfig

FORCED = """
CREATE TABLE a (id int, tenant_id int, plan text);
CREATE TABLE src (id int);
ALTER TABLE a ENABLE ROW LEVEL SECURITY;
ALTER TABLE a FORCE ROW LEVEL SECURITY;
CREATE POLICY t ON a USING (tenant_id = current_setting('app.tenant_id')::int);
"""


def _rules(sql: str, migrate_as: str | None = "migrator") -> list[str]:
    cfg = LintConfig(migrate_as=migrate_as)
    return [f.message for f in lint_files([("m.sql", sql)], cfg) if f.rule == "RLS043"]


def test_each_data_changing_statement_is_flagged() -> None:
    for stmt in (
        "UPDATE a SET plan = 'x';",
        "DELETE FROM a WHERE plan IS NULL;",
        "INSERT INTO src SELECT id FROM a;",
        "MERGE INTO src s USING a ON s.id = a.id WHEN NOT MATCHED THEN INSERT VALUES (a.id);",
        "DO $$ BEGIN UPDATE a SET plan = 'x'; END $$;",
    ):
        found = _rules(FORCED + stmt)
        assert len(found) == 1 and "public.a" in found[0] and "migrator" in found[0], (stmt, found)


def test_not_flagged_when_rls_does_not_apply() -> None:
    assert _rules(FORCED + "UPDATE a SET plan = 'x';", migrate_as=None) == []
    assert _rules(FORCED + "INSERT INTO a VALUES (1, 1, 'x');") == []  # fails loudly, not 0 rows
    assert _rules(FORCED + "UPDATE src SET id = 1;") == []  # src has no RLS
    bypass = "CREATE ROLE migrator BYPASSRLS;" + FORCED + "UPDATE a SET plan = 'x';"
    assert _rules(bypass) == []
    own = FORCED + "CREATE POLICY mig ON a TO migrator USING (true);UPDATE a SET plan = 'x';"
    assert _rules(own) == []


def test_migrate_as_is_read_from_the_project_settings(tmp_path: Path) -> None:
    ini = tmp_path / "alembic.ini"
    ini.write_text("[rlskit]\nmigrate_as = deployer\n")
    assert LintConfig.from_ini(ini).migrate_as == "deployer"
    ini.write_text("[rlskit]\nmigrate_as = deployer\n[rlskit.lint]\nignore = RLS001\n")
    assert LintConfig.from_ini(ini).migrate_as == "deployer"
