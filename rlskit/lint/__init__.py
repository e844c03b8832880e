"""rlskit lint: find the RLS mistakes people make, in SQL files and in the catalog.

``lint_files`` needs no database. ``rlskit.lint.catalog`` builds the same model
from an applied database; :func:`merge` keeps one finding per object,
preferring the one that points at a file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rlskit import pgsql
from rlskit.lint.core import Finding, LintConfig, Rule
from rlskit.lint.model import Model, StaticBuilder, forget_walks
from rlskit.lint.rules import ALL_RULES, RULES_BY_ID

IGNORE = re.compile(r"--\s*rlskit:\s*ignore\s+((?:RLS\d{3}[\s,]*)+)", re.IGNORECASE)

__all__ = [
    "ALL_RULES",
    "RULES_BY_ID",
    "Finding",
    "LintConfig",
    "Rule",
    "Suppressions",
    "lint_files",
    "merge",
    "run_rules",
]


@dataclass
class Suppressions:
    """``-- rlskit: ignore RLS00N`` comments, per file and statement line range."""

    ranges: list[tuple[str, int, int, set[str]]] = field(default_factory=list)

    def add_file(self, display: str, text: str) -> None:
        if "rlskit:" not in text:
            return  # no markers: skip the second split
        try:
            statements = pgsql.split(text)
        except pgsql.SplitError:
            return
        prev_end = 0
        for st in statements:
            end = st.offset + len(st.text)
            region = text[prev_end:end]
            ids = {
                i.upper()
                for m in IGNORE.finditer(region)
                for i in re.findall(r"RLS\d{3}", m.group(1), re.IGNORECASE)
            }
            if ids:
                last = st.line + st.text.count("\n")
                first = st.line - text.count("\n", prev_end, st.offset)
                self.ranges.append((display, first, last, ids))
            prev_end = end

    def suppressed(self, f: Finding) -> bool:
        if f.loc.file is None or f.loc.line is None:
            return False
        return any(
            file == f.loc.file and lo <= f.loc.line <= hi and f.rule in ids
            for file, lo, hi, ids in self.ranges
        )


def run_rules(model: Model, config: LintConfig, rules: Iterable[Rule] = ALL_RULES) -> list[Finding]:
    """Every finding of ``rules`` on ``model`` (project-level ``ignore`` applied)."""
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for rule in rules:
        if rule.id in config.ignore:
            continue
        for f in rule.check(model, config):
            if config.platform_schemas and _platform_object(f.key, config.platform_schemas):
                continue
            if (f.rule, f.key) not in seen:
                seen.add((f.rule, f.key))
                out.append(f)
    forget_walks()
    return out


def _platform_object(key: str, schemas: set[str]) -> bool:
    """Is the finding about a platform's own table or function (``auth.users``), not
    about a policy the project wrote on it?"""
    if key.startswith("policy:"):
        return False
    parts = key.split(":")
    return len(parts) > 1 and parts[1].split(".", 1)[0] in schemas


def build_static(files: Iterable[tuple[str, str]]) -> tuple[Model, Suppressions]:
    """Replay files (display name, text) into a model; collect suppressions."""
    builder = StaticBuilder()
    sup = Suppressions()
    for display, text in files:
        builder.add_text(text, display)
        sup.add_file(display, text)
    return builder.model, sup


def lint_files(files: Iterable[tuple[str, str]], config: LintConfig | None = None) -> list[Finding]:
    """Static lint of SQL texts, in the order they are applied."""
    config = config or LintConfig()
    model, sup = build_static(files)
    return [f for f in run_rules(model, config) if not sup.suppressed(f)]


def merge(
    static: list[Finding], catalog: list[Finding], with_catalog: bool = True
) -> list[Finding]:
    """One finding per (rule, object). With a catalog pass, its facts decide: a static
    finding stays only if the catalog finds the same thing (it lends its file:line) or
    it is about what only the files show (DO blocks, passwords, BEGIN/COMMIT)."""
    if not with_catalog:
        return sort(static)
    by_key = {(f.rule, f.key): f for f in static}
    kept = [f for f in static if f.static_only]
    seen = {(f.rule, f.key) for f in kept}
    for f in catalog:
        if (f.rule, f.key) in seen:
            continue
        seen.add((f.rule, f.key))
        twin = by_key.get((f.rule, f.key))
        kept.append(Finding(f.rule, f.severity, f.message, twin.loc, f.key) if twin else f)
    return sort(kept)


def sort(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.loc.file or "~", f.loc.line or 0, f.loc.obj, f.rule))
