"""rlskit lint in CI: SARIF and JUnit output, a baseline of accepted findings,
--fail-on, exit codes (0 clean, 1 findings, 2 usage or tool error), and a
project whose migrations do not apply still gets every static finding."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from .conftest import Database, rlskit

WARNING_ONLY = """
CREATE ROLE app NOLOGIN;
CREATE TABLE public.t (id int PRIMARY KEY, owner text NOT NULL);
ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.t FORCE ROW LEVEL SECURITY;
GRANT SELECT ON public.t TO app;
CREATE POLICY p ON public.t FOR SELECT TO app USING (owner = (SELECT current_user));
"""  # RLS031 (no index on owner): a warning
ERROR = "CREATE TABLE public.u (id int);\nGRANT SELECT ON public.u TO PUBLIC;\n"  # RLS015


def project_with(tmp: Path, sql: str) -> Path:
    assert rlskit("init", str(tmp)).exit_code == 0
    assert rlskit("new", "schema", project=tmp).exit_code == 0
    next((tmp / "sql").glob("0001_*.up.sql")).write_text(sql)
    return tmp


def up_file(project: Path) -> Path:
    return next((project / "sql").glob("0001_*.up.sql"))


def test_sarif_is_valid_2_1_0(tmp_path: Path) -> None:
    project = project_with(tmp_path, WARNING_ONLY + ERROR)
    res = rlskit("lint", "--no-db", "--format", "sarif", project=project)
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert doc["version"] == "2.1.0" and "$schema" in doc
    run = doc["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert run["tool"]["driver"]["name"] == "rlskit"
    assert {"RLS015", "RLS031"} <= set(rules)
    for result in run["results"]:
        assert result["ruleId"] in rules
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        phys = result["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"]["uri"].startswith("sql/")
        assert isinstance(phys["region"]["startLine"], int) and phys["region"]["startLine"] >= 1


def test_junit_has_a_failing_case_per_rule_with_findings(tmp_path: Path) -> None:
    project = project_with(tmp_path, WARNING_ONLY + ERROR)
    res = rlskit("lint", "--no-db", "--format", "junit", project=project)
    suite = ET.fromstring(res.output.split("?>", 1)[-1])
    failed = {c.get("name", "").split()[0] for c in suite if c.find("failure") is not None}
    assert {"RLS015", "RLS031"} <= failed
    assert int(suite.get("tests", "0")) >= 30


def test_exit_codes_and_fail_on(tmp_path: Path) -> None:
    project = project_with(tmp_path, WARNING_ONLY)
    assert rlskit("lint", "--no-db", project=project).exit_code == 0  # warnings only
    assert rlskit("lint", "--no-db", "--fail-on", "warning", project=project).exit_code == 1
    up_file(project).write_text(WARNING_ONLY + ERROR)
    assert rlskit("lint", "--no-db", project=project).exit_code == 1
    assert rlskit("lint", "--no-db", "--format", "xml", project=project).exit_code == 2
    assert rlskit("lint", "--no-db", "--update-baseline", project=project).exit_code == 2


def test_baseline_only_new_findings_fail_and_survive_line_shifts(tmp_path: Path) -> None:
    project = project_with(tmp_path, ERROR)
    base = tmp_path / "lint-baseline.json"
    res = rlskit("lint", "--no-db", "--baseline", str(base), "--update-baseline", project=project)
    assert res.exit_code == 0 and base.is_file()
    # lines move: the accepted finding is still accepted
    up_file(project).write_text("-- a comment\n\n\n" + ERROR)
    res = rlskit("lint", "--no-db", "--baseline", str(base), project=project)
    assert res.exit_code == 0, res.output
    # a new problem fails, and only it is reported
    up_file(project).write_text(
        "-- a comment\n\n\n" + ERROR + "CREATE TABLE public.w (id int);\n"
        "GRANT SELECT ON public.w TO PUBLIC;\n"
    )
    res = rlskit("lint", "--no-db", "--baseline", str(base), "--format", "json", project=project)
    assert res.exit_code == 1
    new = json.loads(res.output)
    assert new and all("public.w" in f["message"] for f in new), new
    base.write_text("not json")
    assert rlskit("lint", "--no-db", "--baseline", str(base), project=project).exit_code == 2


def test_failed_apply_still_reports_static_findings(tmp_path: Path, database: Database) -> None:
    sql = ERROR + "\nCREATE POLICY p ON public.missing USING (true);\n"
    project = project_with(tmp_path, sql)
    res = rlskit("lint", "--format", "json", project=project, url=database.server.url("postgres"))
    assert res.exit_code == 1, res.output
    found = json.loads(res.output)
    by_rule = {f["rule"]: f for f in found}
    assert "RLS015" in by_rule  # the static finding is still there
    apply = by_rule["RLS000"]
    assert apply["file"].startswith("sql/0001_") and apply["line"] == 4
    assert "public.missing" in apply["message"] or "does not exist" in apply["message"]


def test_paths_limit_the_report_to_those_files(tmp_path: Path) -> None:
    # what the pre-commit hook passes: the changed .sql files
    project = project_with(tmp_path, ERROR)
    assert rlskit("new", "second", project=project).exit_code == 0
    second = next((project / "sql").glob("0002_*.up.sql"))
    second.write_text("CREATE TABLE public.x (id int);\n")
    res = rlskit("lint", "--no-db", "--format", "json", str(second), project=project)
    assert res.exit_code == 0 and json.loads(res.output) == []
    res = rlskit("lint", "--no-db", "--format", "json", str(up_file(project)), project=project)
    assert res.exit_code == 1
    assert {f["file"] for f in json.loads(res.output)} == {"sql/0001_schema.up.sql"}


def test_pre_commit_hooks_are_declared() -> None:
    import yaml

    from .conftest import REPO

    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    static, full = hooks["rlskit-lint"], hooks["rlskit-lint-full"]
    assert static["entry"].startswith("rlskit lint") and "--no-db" in static["entry"]
    assert static["files"] == r"\.sql$" and static.get("pass_filenames", True)
    assert full["pass_filenames"] is False and "--no-db" not in full["entry"]
