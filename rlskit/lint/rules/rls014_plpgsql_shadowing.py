"""RLS014 plpgsql-variable-shadows-column: a plpgsql variable or parameter named like a column.

Inside the function's queries the name is ambiguous: PostgreSQL raises
"column reference is ambiguous" at run time, or (in SQL functions) silently
uses the column.

Anti-pattern (seed 003)::

    DECLARE owner_id INT;
    BEGIN SELECT owner_id FROM store WHERE id = store_id INTO owner_id; ...

Fix::

    DECLARE v_owner_id INT;
    BEGIN SELECT s.owner_id FROM store AS s WHERE s.id = p_store_id INTO v_owner_id; ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model, Node, function_trees, names, walk

STATEMENTS = ("SelectStmt", "UpdateStmt", "DeleteStmt", "InsertStmt")


def _level(node: Any, tables: list[str], refs: list[list[str]], nested: list[Node]) -> None:
    """Tables and column references of one query level; nested queries set aside."""
    if isinstance(node, list):
        for item in node:
            _level(item, tables, refs, nested)
        return
    if not isinstance(node, dict):
        return
    for k, v in node.items():
        if k in STATEMENTS:
            nested.append(v)
        elif k == "RangeVar" and isinstance(v, dict) and "relname" in v:
            tables.append(f"{v.get('schemaname') or 'public'}.{v['relname']}")
        elif k == "ColumnRef" and isinstance(v, dict):
            refs.append(names(v.get("fields", [])))
        else:
            _level(v, tables, refs, nested)


def _ambiguous(model: Model, stmt: Node, outer: set[str], variables: set[str]) -> str | None:
    """An unqualified name that is a variable and a column of a table in scope
    (this query level or an enclosing one)."""
    tables: list[str] = []
    refs: list[list[str]] = []
    nested: list[Node] = []
    _level(stmt, tables, refs, nested)
    cols = set(outer)
    for table in tables:
        t = model.tables.get(table)
        if t is not None:
            cols |= t.columns
    for ref in refs:
        if len(ref) == 1 and ref[0] in variables and ref[0] in cols:
            return ref[0]
    for inner in nested:
        hit = _ambiguous(model, inner, cols, variables)
        if hit:
            return hit
    return None


@make_rule("RLS014", "plpgsql-variable-shadows-column", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for f in model.functions.values():
        if f.plpgsql is None:
            continue
        variables = {
            n["refname"]
            for t, n in walk(f.plpgsql)
            if t == "PLpgSQL_var" and n.get("refname") not in ("found", None)
        }
        for tree in function_trees(f):
            name = _ambiguous(model, {"root": tree}, set(), variables)
            if name:
                yield RULE.finding(
                    f"in {f.name}, {name} is both a variable and a column of a table the "
                    "query reads: the reference is ambiguous",
                    f.loc,
                    f"shadow:{f.name}:{name}",
                )
                return
