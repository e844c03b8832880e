"""RLS031 policy-column-not-indexed: the column a policy filters on has no index.

A policy is an extra WHERE clause on every query. ``user_id = (SELECT auth.uid())``
on a table without an index whose first column is ``user_id`` scans the whole
table for every request, however few rows the caller owns.

Anti-pattern::

    CREATE TABLE todos (id bigint PRIMARY KEY, user_id uuid NOT NULL);
    CREATE POLICY own ON todos USING ((SELECT auth.uid()) = user_id);

Fix::

    CREATE INDEX ON todos (user_id);
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, scoping_columns
from rlskit.lint.model import Model, sql_name


@make_rule("RLS031", "policy-column-not-indexed", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for p in sorted(model.policies.values(), key=lambda p: (p.loc.file or "", p.loc.line or 0)):
        t = model.tables.get(p.table)
        if t is None or p.using is None or not t.columns:
            continue
        leads = {cols[0] for cols in t.indexes if cols}
        for col in scoping_columns(p.using):
            if col in t.columns and col not in leads and (t.name, col) not in seen:
                seen.add((t.name, col))
                yield RULE.finding(
                    f"policy {p.name} filters {t.name} on {col}, which no index starts "
                    "with: every query scans the table "
                    f"(CREATE INDEX ON {sql_name(*t.name.split('.', 1))} ({sql_name(col)}))",
                    p.loc,
                    f"index:{t.name}:{col}",
                )
