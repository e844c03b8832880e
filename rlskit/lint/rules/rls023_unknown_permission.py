"""RLS023 unknown-permission: a policy tests for a value its lookup table never holds.

A typo in a permission name makes the branch always false: nobody gets that
access, and nothing says so.

Anti-pattern (seed 001: the table holds edit_articles, not editor_articles)::

    ... WHERE role = ... AND permission IN ('editor_articles', 'admin_articles')

Fix::

    ... WHERE role = ... AND permission = 'edit_articles'
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, policy_exprs
from rlskit.lint.model import Model, names, tables_read, walk


@make_rule("RLS023", "unknown-permission", "error", __doc__, static_only=True)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p, _label, expr in policy_exprs(model):
        for t, sub in walk(expr):
            if t != "SelectStmt":
                continue
            for table in tables_read(sub.get("fromClause")):
                for t2, a in walk(sub.get("whereClause")):
                    if t2 != "A_Expr":
                        continue
                    col = a.get("lexpr", {}).get("ColumnRef")
                    if not col:
                        continue
                    known = model.inserted.get((table, names(col["fields"])[-1]))
                    if not known:
                        continue
                    rexpr = a.get("rexpr")
                    items = (
                        rexpr.get("List", {}).get("items", [])
                        if isinstance(rexpr, dict) and "List" in rexpr
                        else [rexpr]
                    )
                    for item in items:
                        if (
                            isinstance(item, dict)
                            and "A_Const" in item
                            and "sval" in item["A_Const"]
                        ):
                            value = item["A_Const"]["sval"]["sval"]
                            if value not in known:
                                yield RULE.finding(
                                    f"policy {p.name} tests {names(col['fields'])[-1]} = "
                                    f"{value!r}, which {table} never holds "
                                    f"(it holds {', '.join(sorted(known))})",
                                    p.loc,
                                    f"{p.key}:{value}",
                                )
