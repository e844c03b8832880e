"""RLS030 per-row-function-call: a row-independent function in a policy is called once per row.

``auth.uid()`` (or any helper whose arguments are not columns) returns the same
value for every row, but unless it is wrapped in ``(SELECT ...)`` the planner
calls it for each row it filters: about 10x slower on 300k rows. Wrapped, it
becomes an InitPlan evaluated once per statement.

Anti-pattern::

    CREATE POLICY own ON todos USING (auth.uid() = user_id);

Fix::

    CREATE POLICY own ON todos USING ((SELECT auth.uid()) = user_id);
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, policy_exprs, with_parents
from rlskit.lint.model import Model, func_name, walk


@make_rule("RLS030", "per-row-function-call", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p, label, expr in policy_exprs(model):
        per_row: list[str] = []
        # col = ANY (f()): RLS019 reports that shape, with its own measured cost
        any_calls = {
            id(n["rexpr"]["FuncCall"])
            for t, n in walk(expr)
            if t == "A_Expr"
            and n.get("kind") == "AEXPR_OP_ANY"
            and "FuncCall" in (n.get("rexpr") or {})
        }
        for t, n, parents in with_parents({"root": expr}):
            if t != "FuncCall" or "SubLink" in parents or "FuncCall" in parents:
                continue
            if id(n) in any_calls:
                continue
            name = func_name(n)
            f = model.function(name)
            if f is not None and f.volatility == "i":
                continue  # IMMUTABLE: folded while planning
            if any(k == "ColumnRef" for k, _ in walk(n.get("args", []))):
                continue  # depends on the row: RLS019 judges those
            user_defined = f is not None or ("." in name and not name.startswith("pg_catalog."))
            call = f"{name}({'...' if n.get('args') else ''})"
            if user_defined and call not in per_row:
                per_row.append(call)
        if per_row:
            yield RULE.finding(
                f"{label} of policy {p.name} on {p.table} calls {', '.join(per_row)} once per "
                f"row: wrap the call as (SELECT {per_row[0]}) so it runs once per statement",
                p.loc,
                f"{p.key}:{label}:perrow",
            )
