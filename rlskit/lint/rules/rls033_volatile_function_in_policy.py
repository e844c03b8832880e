"""RLS033 volatile-function-in-policy: a policy calls a VOLATILE function.

A VOLATILE function (the default for ``CREATE FUNCTION``) cannot be inlined or
hoisted: it runs for every row, and it may write, so reading a table through a
policy can change data. Helpers that only read should be STABLE.

Anti-pattern::

    CREATE FUNCTION my_tenant() RETURNS bigint LANGUAGE sql AS $$ SELECT ... $$;
    CREATE POLICY t ON docs USING (tenant_id = my_tenant());

Fix::

    CREATE FUNCTION my_tenant() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT ... $$;

A platform's own functions (``storage.foldername`` under ``profile = supabase``,
or any schema in ``platform_schemas``) are not the project's to redeclare.
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, policy_exprs
from rlskit.lint.model import Model, calls, func_name


@make_rule("RLS033", "volatile-function-in-policy", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p, label, expr in policy_exprs(model):
        volatile = sorted(
            {
                f.name
                for c in calls(expr)
                if (f := model.function(func_name(c))) is not None
                and f.volatility == "v"
                and f.name.split(".", 1)[0] not in config.platform_schemas
            }
        )
        if volatile:
            yield RULE.finding(
                f"{label} of policy {p.name} on {p.table} calls VOLATILE "
                f"{', '.join(volatile)}: declare it STABLE if it only reads",
                p.loc,
                f"{p.key}:{label}:volatile",
            )
