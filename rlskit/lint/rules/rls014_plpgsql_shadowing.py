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

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model, column_refs, function_trees, tables_read, walk


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
            cols: set[str] = set()
            for table in tables_read(tree):
                t = model.tables.get(table)
                if t is not None:
                    cols |= t.columns
            for ref in column_refs(tree):
                name = ref[-1] if len(ref) == 1 else None
                if name and name in variables and name in cols:
                    yield RULE.finding(
                        f"in {f.name}, {name} is both a variable and a column of a table the "
                        "query reads: the reference is ambiguous",
                        f.loc,
                        f"shadow:{f.name}:{name}",
                    )
                    return
