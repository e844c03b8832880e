"""RLS034 check-not-tied-to-caller: a write policy does not tie the owner column to the caller.

The table's policies scope rows by a column compared with the caller
(``owner = auth.uid()``), but an INSERT or UPDATE policy's WITH CHECK does not
constrain that column: a user can create rows owned by someone else, or hand
their row over to another user.

Anti-pattern::

    CREATE POLICY upd ON objects FOR UPDATE
        USING (owner = auth.uid()) WITH CHECK (bucket_id = 'avatars');

Fix::

    CREATE POLICY upd ON objects FOR UPDATE
        USING (owner = (SELECT auth.uid()))
        WITH CHECK (bucket_id = 'avatars' AND owner = (SELECT auth.uid()));
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, scoping_columns
from rlskit.lint.model import Model, Node, calls, column_refs, func_name, is_true, names


def pinned_null(expr: Node) -> set[str]:
    """Columns the expression requires to be NULL (``... AND tenant_id IS NULL``): rows
    written through it belong to no one (system rows), not to someone else."""
    bool_expr = expr.get("BoolExpr", {})
    if bool_expr.get("boolop") == "AND_EXPR":
        return {c for arg in bool_expr.get("args", []) for c in pinned_null(arg)}
    test = expr.get("NullTest", {})
    if test.get("nulltesttype") == "IS_NULL":
        return set(names(test.get("arg", {}).get("ColumnRef", {}).get("fields", []))[-1:])
    return set()


def helper_columns(model: Model, expr: Node) -> set[str]:
    """Columns a policy hands to one of the project's functions (``has_role(account_id)``):
    a membership helper ties the row to the caller through that column."""
    return {
        ref[-1]
        for call in calls(expr)
        if model.function(func_name(call)) is not None
        for ref in column_refs(call.get("args", []))
    }


@make_rule("RLS034", "check-not-tied-to-caller", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    scoped: dict[str, set[str]] = {}  # compared with the caller (owner, tenant columns)
    via_helper: dict[str, set[str]] = {}  # handed to a membership helper (account id)
    for p in model.policies.values():
        for expr in (p.using, p.check):
            if expr is not None:
                scoped.setdefault(p.table, set()).update(scoping_columns(expr, p.table))
                via_helper.setdefault(p.table, set()).update(helper_columns(model, expr))
    for p in model.policies.values():
        if not p.permissive or p.command not in ("INSERT", "UPDATE", "ALL"):
            continue
        if set(p.roles) <= config.admin_roles:
            continue  # an admin may write any owner's rows
        direct = set(scoped.get(p.table, set()))
        owner_cols = direct | via_helper.get(p.table, set())
        t = model.tables.get(p.table)
        if t is not None and t.columns:
            owner_cols &= t.columns  # not a column of a table a subquery reads
            direct &= t.columns
        check = p.check if p.check is not None else (p.using if p.command != "INSERT" else None)
        if not owner_cols or check is None or is_true(check):
            continue
        # tied: compared with the caller, or handed to a helper (is_member(org_id))
        used = (
            set(scoping_columns(check, p.table))
            | {ref[-1] for call in calls(check) for ref in column_refs(call.get("args", []))}
            | pinned_null(check)
        )
        if not used & owner_cols:
            cols = ", ".join(sorted(direct or owner_cols))  # the owner column, if any
            yield RULE.finding(
                f"WITH CHECK of policy {p.name} ({p.command}) on {p.table} does not tie "
                f"{cols} to the caller: a user can write rows that belong to someone else",
                p.loc,
                f"{p.key}:check-owner",
            )
