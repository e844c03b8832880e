"""Formatting findings: text (grouped, coloured), JSON, GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import groupby
from typing import Any

from rlskit.lint.core import Finding
from rlskit.term import escape


def text(findings: list[Finding], style: Callable[..., str] = lambda s, **_: s) -> str:
    """Grouped by file (or catalog object), one line per finding."""
    if not findings:
        return "No findings."
    lines: list[str] = []
    for where, group in groupby(findings, key=lambda f: f.loc.file or "(database catalog)"):
        lines.append(style(escape(where), bold=True))
        for f in group:
            colour = "red" if f.severity == "error" else "yellow"
            at = f"{f.loc.line}" if f.loc.file else f.loc.obj
            lines.append(
                f"  {escape(str(at))}: {style(f.rule, fg=colour)} {f.severity}: {escape(f.message)}"
            )
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    lines.append(
        f"{errors} error(s), {warnings} warning(s). `rlskit lint --explain RLSnnn` "
        "shows why and how to fix."
    )
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> str:
    return json.dumps([f.as_dict() for f in findings], indent=2)


def _esc(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands (annotations on the PR diff)."""
    out = []
    for f in findings:
        level = "error" if f.severity == "error" else "warning"
        where = f"file={_esc(f.loc.file)},line={f.loc.line}," if f.loc.file else ""
        out.append(f"::{level} {where}title={f.rule}::{_esc(f.message)}")
    return "\n".join(out)


def sarif(findings: list[Finding], rules: list[Any]) -> str:
    """SARIF 2.1.0 (GitHub code scanning): one run, the rules, one result per finding."""
    used = sorted({f.rule for f in findings})
    by_id = {r.id: r for r in rules}
    results = []
    for f in findings:
        loc: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": f.loc.file or "alembic.ini"},
                "region": {"startLine": f.loc.line or 1},
            }
        }
        if not f.loc.file:
            loc["logicalLocations"] = [{"fullyQualifiedName": f.loc.obj}]
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": used.index(f.rule),
                "level": "error" if f.severity == "error" else "warning",
                "message": {"text": f.message},
                "locations": [loc],
                "partialFingerprints": {"rlskit/v1": f.fingerprint},
            }
        )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "rlskit",
                        "rules": [
                            {
                                "id": rid,
                                "name": by_id[rid].name if rid in by_id else rid,
                                "shortDescription": {
                                    "text": (by_id[rid].doc.splitlines() or [rid])[0]
                                    if rid in by_id
                                    else rid
                                },
                                "fullDescription": {
                                    "text": by_id[rid].doc if rid in by_id else rid
                                },
                                "defaultConfiguration": {
                                    "level": "error"
                                    if rid in by_id and by_id[rid].severity == "error"
                                    else "warning"
                                },
                            }
                            for rid in used
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2)


def junit(findings: list[Finding], rules: list[Any]) -> str:
    """JUnit XML: one test case per rule, failing with its findings."""
    from xml.etree import ElementTree as ET

    suite = ET.Element(
        "testsuite",
        name="rlskit lint",
        tests=str(len(rules)),
        failures=str(len({f.rule for f in findings})),
        errors="0",
    )
    for r in rules:
        case = ET.SubElement(suite, "testcase", classname="rlskit.lint", name=f"{r.id} {r.name}")
        mine = [f for f in findings if f.rule == r.id]
        if mine:
            fail = ET.SubElement(
                case, "failure", message=f"{len(mine)} finding(s)", type=mine[0].severity
            )
            fail.text = "\n".join(f"{f.loc}: {f.severity}: {f.message}" for f in mine)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def baseline_dump(findings: list[Finding]) -> str:
    """The accepted findings: fingerprints (rule + object + message, not the line)."""
    return (
        json.dumps(
            {
                "version": 1,
                "findings": [
                    {
                        "fingerprint": f.fingerprint,
                        "rule": f.rule,
                        "object": f.loc.obj,
                        "message": f.message,
                    }
                    for f in findings
                ],
            },
            indent=2,
        )
        + "\n"
    )


def baseline_fingerprints(text: str) -> set[str]:
    data = json.loads(text)
    return {str(f["fingerprint"]) for f in data.get("findings", [])}
