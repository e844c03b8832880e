"""RLS039 immutable-reads-session: an IMMUTABLE function reads who the caller is.

IMMUTABLE promises the same result for the same arguments forever, so the
planner may evaluate it once while planning and keep the result in a cached
(prepared) plan, or in an index. A function that reads ``current_setting``,
``current_user`` or the JWT claims then answers with the identity of whoever
planned the query: another user's rows.

Anti-pattern::

    CREATE FUNCTION tenant() RETURNS bigint IMMUTABLE LANGUAGE sql
        AS $$ SELECT current_setting('app.tenant')::bigint $$;

Fix::

    CREATE FUNCTION tenant() RETURNS bigint STABLE LANGUAGE sql
        AS $$ SELECT current_setting('app.tenant', true)::bigint $$;
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model, func_name, function_trees, walk

SESSION = {"current_setting", "current_user", "session_user", "current_role", "user"}
SVF = {"SVFOP_CURRENT_USER", "SVFOP_SESSION_USER", "SVFOP_CURRENT_ROLE", "SVFOP_USER"}


def _reads_session(model: Model, name: str, depth: int = 0) -> bool:
    f = model.function(name)
    if f is None or depth > 3:
        return False
    for tree in function_trees(f):
        for t, n in walk(tree):
            if t == "SQLValueFunction" and n.get("op") in SVF:
                return True
            if t == "FuncCall":
                called = func_name(n)
                if called.rsplit(".", 1)[-1] in SESSION:
                    return True
                g = model.function(called)
                if g is not None and g.name != f.name and _reads_session(model, called, depth + 1):
                    return True
    return False


@make_rule("RLS039", "immutable-reads-session", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for f in model.functions.values():
        if f.volatility == "i" and _reads_session(model, f.name):
            yield RULE.finding(
                f"IMMUTABLE function {f.name} reads the session (current_setting, current_user): "
                "a cached plan can keep another caller's answer; declare it STABLE",
                f.loc,
                f"immutable:{f.name}",
            )
