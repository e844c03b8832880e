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
from rlskit.lint.core import Finding, LintConfig, make_rule, uncast
from rlskit.lint.model import Model, Node, names

SAFE = {"format", "quote_ident", "quote_literal", "quote_nullable"}


def _operands(node: Node) -> list[Node]:
    """The pieces of an ``a || b || c`` chain."""
    if "A_Expr" in node and names(node["A_Expr"].get("name", [])) == ["||"]:
        return _operands(node["A_Expr"]["lexpr"]) + _operands(node["A_Expr"]["rexpr"])
    return [uncast(node)]


def _safe(piece: Node, constants: frozenset[str] = frozenset()) -> bool:
    """A string constant, a variable that only holds constants, or a value that went
    through quote_ident/quote_literal/format."""
    if "A_Const" in piece:
        return True
    ref = names(piece.get("ColumnRef", {}).get("fields", []))
    if len(ref) == 1 and ref[0] in constants:
        return True
    if "FuncCall" in piece:
        return names(piece["FuncCall"]["funcname"])[-1:][0] in SAFE
    return False


@make_rule("RLS013", "dynamic-sql-concatenation", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for where, query, loc, constants in model.dynamic_sql:
        expr = pgsql.parse_expression(query)
        if expr is None:
            continue
        top = uncast(expr)
        chain = _operands(top) if "A_Expr" in top else []
        unsafe = [piece for piece in chain if len(chain) > 1 and not _safe(piece, constants)]
        if unsafe:
            do_block = where == "DO block"
            yield RULE.finding(
                f"{where} builds dynamic SQL with || on a value that is not quoted: use "
                "format('%I') / format('%L'), or quote_ident() / quote_literal()",
                loc,
                f"dynsql:{loc}" if do_block else f"dynsql:{where}",
                static_only=do_block,
            )
