"""RLS013 dynamic-sql-concatenation: EXECUTE of SQL glued together with ``||``.

A value concatenated into SQL text can end the statement and start another one.
Build it with ``format('%I', ...)`` for names and ``%L`` (or USING) for values.

Anti-pattern (seed 000)::

    EXECUTE 'CREATE USER "django:' || NEW.id || '" NOLOGIN';

Fix::

    EXECUTE format('CREATE ROLE %I NOLOGIN', 'django:' || NEW.id);
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit import pgsql
from rlskit.lint.core import Finding, LintConfig, make_rule, with_parents
from rlskit.lint.model import Model, names

SAFE = {"format", "quote_ident", "quote_literal", "quote_nullable"}


@make_rule("RLS013", "dynamic-sql-concatenation", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for where, query, loc in model.dynamic_sql:
        expr = pgsql.parse_expression(query)
        if expr is None:
            continue
        top = expr
        if "FuncCall" in top and names(top["FuncCall"]["funcname"])[-1:] == ["format"]:
            continue
        for t, n, _parents in with_parents({"root": expr}):
            if t == "A_Expr" and names(n.get("name", [])) == ["||"]:
                yield RULE.finding(
                    f"{where} builds dynamic SQL with ||: use format('%I') / format('%L')",
                    loc,
                    f"dynsql:{loc}",
                )
                break
