"""Formatting findings: text (grouped, coloured), JSON, GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import groupby

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
