"""RLS006 identifier-is-function: a bare name in a policy that is a function's name.

``USING (is_superuser)`` reads a column named is_superuser (or fails); it does
not call the function is_superuser(). Call it with parentheses.

Anti-pattern (seed 000)::

    CREATE FUNCTION is_superuser() RETURNS boolean AS $$ ... $$ LANGUAGE sql;
    CREATE POLICY superuser_user_select ON auth_user FOR SELECT USING (is_superuser);

Fix::

    CREATE POLICY superuser_user_select ON auth_user FOR SELECT USING ((SELECT is_superuser()));
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, policy_exprs
from rlskit.lint.model import Model, column_refs


@make_rule("RLS006", "identifier-is-function", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    functions = {f.name.rsplit(".", 1)[-1] for f in model.functions.values()}
    for p, label, expr in policy_exprs(model):
        for ref in column_refs(expr):
            if len(ref) == 1 and ref[0] in functions:
                yield RULE.finding(
                    f"{label} of policy {p.name} names {ref[0]} without parentheses: that is a "
                    f"column, not the function {ref[0]}()",
                    p.loc,
                    f"{p.key}:{ref[0]}",
                )
