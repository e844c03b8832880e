"""RLS019 slow-policy-shape: a policy shape that defeats indexes (FINDINGS §8).

Measured on 1M rows against a hand-written WHERE: the column must stand bare
on one side of ``=`` / ``= ANY``, the other side row-independent and wrapped in
``(SELECT ...)`` so it runs once.

Anti-patterns and their measured cost::

    'user:' || owner_id = current_user             -- 1,583x count, 710x first page
    salesperson_id::text = current_user            -- the column is cast: no index
    is_current_account(id)                         -- per-row plpgsql: 3,459x count
    tenant_id IN (SELECT get_orgs_for_app_user())  -- hashed subplan: 287x count
    tenant_id = ANY (app_user_tenants())           -- bare call: 58.5x first page
    tenant_id = current_setting('app.tenant_id')::int  -- 2.46x first page

Fix::

    owner_id = (SELECT split_part(current_user, ':', 2)::int)
    tenant_id = ANY ((SELECT app_user_tenants())::int[])
    tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::int)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rlskit.lint.core import Finding, LintConfig, make_rule, with_parents
from rlskit.lint.model import Model, Node, func_name, names, walk

BUILTINS = {
    "current_setting",
    "nullif",
    "coalesce",
    "split_part",
    "substr",
    "starts_with",
    "lower",
    "upper",
    "pg_has_role",
    "has_table_privilege",
}


def _has_column(node: Any) -> bool:
    return any(t == "ColumnRef" for t, _ in walk(node))


# Casts the catalog adds to a varchar/char column compared with text: binary
# compatible, an index on the column still applies.
RELABEL = {"text", "varchar", "bpchar", "name", "character varying", "character"}


def _relabelled_column(side: Node, types: dict[str, str]) -> bool:
    """``(col)::text`` where col is already a string type."""
    cast = side.get("TypeCast")
    if not cast or "ColumnRef" not in cast.get("arg", {}):
        return False
    col = names(cast["arg"]["ColumnRef"].get("fields", []))[-1:]
    target = names(cast.get("typeName", {}).get("names", []))[-1:]
    return bool(col) and types.get(col[0]) in RELABEL and target in ([t] for t in RELABEL)


def _helper_call(side: Node) -> bool:
    """``helper(col)`` on one side of ``=``: the column goes into a function of the
    project's, judged as a call (once per row or inlined), not as a wrapped column."""
    call = side.get("FuncCall")
    return call is not None and func_name(call).rsplit(".", 1)[-1] not in BUILTINS


def _problems(expr: Node, model: Model, types: dict[str, str] | None = None) -> list[str]:
    found: list[str] = []
    types = types or {}
    for t, n, parents in with_parents({"root": expr}):
        in_sublink = "SubLink" in parents
        if t == "A_Expr" and names(n.get("name", [])) == ["="] and not in_sublink:
            for side in ("lexpr", "rexpr"):
                s = n.get(side) or {}
                if (
                    ("A_Expr" in s or "TypeCast" in s or "FuncCall" in s)
                    and _has_column(s)
                    and not _relabelled_column(s, types)
                    and not _helper_call(s)
                ):
                    found.append(
                        "the column is wrapped (cast, || or a function) on one side of =,"
                        " so no index applies ('user:' || owner_id = current_user: "
                        "1,583x count, 710x first page)"
                    )
                    break
        if t == "FuncCall" and not in_sublink:
            fname = func_name(n).rsplit(".", 1)[-1]
            f = model.function(func_name(n))
            if (
                fname not in BUILTINS
                and any(_has_column(a) for a in n.get("args", []))
                and (f is None or not f.inlinable)
            ):
                found.append(
                    f"{fname}() is called with a column, once per row "
                    "(per-row plpgsql helper: 3,459x count)"
                )
            if fname == "current_setting" and "SubLink" not in parents:
                found.append(
                    "current_setting() is not wrapped in (SELECT ...), so it is "
                    "evaluated per row (2.46x first page)"
                )
        if t == "SubLink" and n.get("subLinkType") == "ANY_SUBLINK" and not in_sublink:
            found.append(
                "IN (SELECT ...) becomes a hashed subplan over the whole table "
                "(287x count); use = ANY ((SELECT array)::type[])"
            )
        if t == "A_Expr" and n.get("kind") == "AEXPR_OP_ANY" and not in_sublink:
            r = n.get("rexpr") or {}
            if "FuncCall" in r:
                found.append(
                    "= ANY (function()) without (SELECT ...) runs per row (58.5x first page)"
                )
    return list(dict.fromkeys(found))


@make_rule("RLS019", "slow-policy-shape", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p in model.policies.values():
        t = model.tables.get(p.table)
        labels: dict[str, list[str]] = {}  # problem -> the clauses it is in: one finding
        for label, expr in (("USING", p.using), ("WITH CHECK", p.check)):
            if expr is not None:
                for problem in _problems(expr, model, t.column_types if t else None):
                    labels.setdefault(problem, []).append(label)
        for problem, where in labels.items():
            yield RULE.finding(
                f"{' and '.join(where)} of policy {p.name}: {problem}",
                p.loc,
                f"{p.key}:{where[0]}:{problem[:20]}",
            )
